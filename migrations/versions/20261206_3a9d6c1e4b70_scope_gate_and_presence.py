"""scope gate and image-level decision (issue 13)

Cases: the model's image-level decision (lesion_present, lesion_probability), why the scope gate
refused the film (status out_of_scope), and a reviewer's reason for analysing it anyway.

Revision ID: 3a9d6c1e4b70
Revises: 7c12a5e0b3f1
Create Date: 2026-12-06 22:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "3a9d6c1e4b70"
down_revision: str | Sequence[str] | None = "7c12a5e0b3f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("lesion_present", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("lesion_probability", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("scope_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "scope_override_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("scope_override_reason")
        batch.drop_column("scope_reason")
        batch.drop_column("lesion_probability")
        batch.drop_column("lesion_present")
