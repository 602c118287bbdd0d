"""The service account that owns the cases the node makes.

Looked up at start (the node refuses to start without it) and again for every instance, so an
admin who deactivates the account, or takes its upload role away, stops the node's intake at
once (0x0124, Refused: Not authorized) without a restart.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import repository
from backend.accounts.enums import Permission, Role, holders, role_names
from backend.accounts.principal import Principal
from backend.accounts.service import normalize_email

TOKEN_KIND = "dicom-node"  # no token: the node acts as the account from inside the deployment


class AccountUnusable(RuntimeError):
    """Why the configured account cannot own cases, as one line for the log and the sender."""


async def service_account(db: AsyncSession, email: str) -> Principal:
    user = await repository.get_user_by_email(db, normalize_email(email))
    if user is None or user.id is None:
        raise AccountUnusable(
            f"the DICOM node's service account {email} does not exist (create it: medsegtext "
            f"users create --email {email} --role clinician)"
        )
    if not user.is_active:
        raise AccountUnusable(f"the DICOM node's service account {email} is deactivated")
    uploaders = holders(Permission.UPLOAD_CASES)
    if user.role not in uploaders:
        raise AccountUnusable(
            f"the DICOM node's service account {email} is a {user.role}; "
            f"cases are made by the {role_names(uploaders)} role"
        )
    return Principal(
        id=user.id,
        email=user.email,
        role=Role(user.role),
        full_name=user.full_name,
        token_id=0,
        token_kind=TOKEN_KIND,
    )
