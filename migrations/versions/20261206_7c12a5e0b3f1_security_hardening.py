"""security hardening (issue 12)

Accounts: token lifetimes and what a user or admin needs to list and end sessions and tokens.
Cases: what the upload limits need, and when deidentify-stored quarantined a case's film.

Revision ID: 7c12a5e0b3f1
Revises: 5e1f0c2a9d41
Create Date: 2026-12-06 21:00:00.000000

"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7c12a5e0b3f1"
down_revision: str | Sequence[str] | None = "5e1f0c2a9d41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ = (sa, sqlmodel, op)


# settings.personal_token_max_days when this revision was written: personal tokens made before
# lifetimes existed end this long after they were made (the API also caps every token at its
# kind's configured maximum when it is used, so a lower setting wins).
_PERSONAL_TOKEN_MAX_DAYS = 90


def _tokens_table() -> sa.TableClause:
    return sa.table(
        "api_tokens",
        sa.column("id", sa.Integer()),
        sa.column("user_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )


def _create_sign_in_throttle(window_start: bool) -> None:
    columns = [
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
    ]
    if window_start:
        columns.append(
            sa.Column("window_start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
        )
    columns += [
        sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    ]
    op.create_table("sign_in_throttle", *columns)
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_throttle_updated_at"), ["updated_at"], unique=False
        )


def _drop_sign_in_throttle() -> None:
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_throttle_updated_at"))
    op.drop_table("sign_in_throttle")


def _upgrade_accounts() -> None:
    """Where a session began (address, browser); personal tokens get an expiry and tokens of
    deactivated users are revoked for good; sign-in counters per account and client address
    replace the per-account lock on the users row."""
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("client_addr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    conn = op.get_bind()
    tokens = _tokens_table()
    never_expiring = conn.execute(
        sa.select(tokens.c.id, tokens.c.created_at).where(
            tokens.c.kind == "personal", tokens.c.expires_at.is_(None)
        )
    ).all()
    for token_id, created_at in never_expiring:
        conn.execute(
            sa.update(tokens)
            .where(tokens.c.id == token_id)
            .values(expires_at=created_at + timedelta(days=_PERSONAL_TOKEN_MAX_DAYS))
        )
    # Deactivation only hid these tokens (reactivation revived them): revoke them now.
    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("is_active", sa.Boolean()))
    conn.execute(
        sa.update(tokens)
        .where(
            tokens.c.revoked_at.is_(None),
            tokens.c.user_id.in_(sa.select(users.c.id).where(users.c.is_active == sa.false())),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
    # Counters keyed by email alone mean nothing to the new scopes: the table starts afresh.
    _drop_sign_in_throttle()
    _create_sign_in_throttle(window_start=True)


def _downgrade_accounts() -> None:
    _drop_sign_in_throttle()
    _create_sign_in_throttle(window_start=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("user_agent")
        batch_op.drop_column("client_addr")
    # Expiries given to personal tokens and revocations stay: nothing revoked comes back.


def _upgrade_cases() -> None:
    # Upload file names can carry PHI (DOE_JOHN_MRN.dcm): replace every stored one with the
    # neutral name new uploads get (backend.cases.upload.stored_filename).
    op.execute(
        "UPDATE cases SET original_filename = CASE source_format"
        " WHEN 'dicom' THEN 'image.dcm' WHEN 'png' THEN 'image.png'"
        " WHEN 'jpeg' THEN 'image.jpg' ELSE 'image' END"
    )
    # STAT needs a reason (backend.cases.limits); earlier cases have none
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "priority_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
            )
        )
        # set by `medsegtext deidentify-stored` when it moves a burned-in film to quarantine:
        # every API process refuses the case's reads from then on (backend.cases.service)
        batch_op.add_column(
            sa.Column("quarantined_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def _downgrade_cases() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("quarantined_at")
        batch_op.drop_column("priority_reason")
    # the original file names are gone on purpose; nothing to restore


def upgrade() -> None:
    _upgrade_accounts()
    _upgrade_cases()


def downgrade() -> None:
    _downgrade_cases()
    _downgrade_accounts()
