"""identity map and PACS outbox (issue 16)

case_identities: the original identifiers of a case a PACS sent, sealed (AES-GCM; the key is
MEDSEGTEXT_IDENTITY_KEY, never in the database). pacs_outbox: the SEG, SR and overlay objects
queued for the PACS, one row per object, version and destination, until the PACS has them.

Revision ID: 9b4e2f7a1c38
Revises: 3a9d6c1e4b70
Create Date: 2026-12-07 01:17:17.906349

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9b4e2f7a1c38"
down_revision: str | Sequence[str] | None = "3a9d6c1e4b70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ = (sa, sqlmodel, op)


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "case_identities",
        sa.Column("case_id", _text(32), nullable=False),
        sa.Column("calling_ae", _text(16), nullable=False),
        sa.Column("key_id", _text(16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "pacs_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", _text(32), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("model_version", _text(50), nullable=False),
        sa.Column("destination", _text(16), nullable=False),
        sa.Column("kind", _text(3), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", _text(64), nullable=False),
        sa.Column("replaces_uid", _text(64), nullable=True),
        sa.Column("status", _text(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("claim", _text(32), nullable=True),
        sa.Column("claimed_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", _text(500), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("destination", "sop_instance_uid"),
    )
    with op.batch_alter_table("pacs_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pacs_outbox_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pacs_outbox_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pacs_outbox_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pacs_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pacs_outbox_status"))
        batch_op.drop_index(batch_op.f("ix_pacs_outbox_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_pacs_outbox_case_id"))
    op.drop_table("pacs_outbox")
    op.drop_table("case_identities")
