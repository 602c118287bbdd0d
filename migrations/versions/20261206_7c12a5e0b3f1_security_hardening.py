"""security hardening (issue 12)

Accounts: token lifetimes and what a user or admin needs to list and end sessions and tokens.
Cases: what the upload limits need.

Revision ID: 7c12a5e0b3f1
Revises: 5e1f0c2a9d41
Create Date: 2026-12-06 21:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '7c12a5e0b3f1'
down_revision: str | Sequence[str] | None = '5e1f0c2a9d41'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ = (sa, sqlmodel, op)


def _upgrade_accounts() -> None:
    pass


def _downgrade_accounts() -> None:
    pass


def _upgrade_cases() -> None:
    # Upload file names can carry PHI (DOE_JOHN_MRN.dcm): replace every stored one with the
    # neutral name new uploads get (backend.cases.upload.stored_filename).
    op.execute(
        "UPDATE cases SET original_filename = CASE source_format"
        " WHEN 'dicom' THEN 'image.dcm' WHEN 'png' THEN 'image.png'"
        " WHEN 'jpeg' THEN 'image.jpg' ELSE 'image' END"
    )


def _downgrade_cases() -> None:
    pass  # the original file names are gone on purpose; nothing to restore


def upgrade() -> None:
    _upgrade_accounts()
    _upgrade_cases()


def downgrade() -> None:
    _downgrade_cases()
    _downgrade_accounts()
