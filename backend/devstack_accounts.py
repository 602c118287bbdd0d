"""The accounts `make up` sets up and prints (backend.devstack): one demo account per role,
the admin that MEDSEGTEXT_ADMIN_EMAIL / MEDSEGTEXT_ADMIN_PASSWORD name, and the DICOM node's
service account, after the bucket, the table and the shipped model."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from backend.accounts.enums import Role
from backend.settings import Settings

DEMO_ACCOUNTS = (  # fixed so the printout stays true on every start; development only
    ("clinician@example.org", Role.CLINICIAN, "clinician-demo-pass"),
    ("reviewer@example.org", Role.REVIEWER, "reviewer-demo-pass"),
    ("admin@example.org", Role.ADMIN, "admin-demo-pass"),
)
log = logging.getLogger(__name__)


async def prepare(settings: Settings) -> list[tuple[str, str, str]]:
    """Bucket, table, the shipped model registered as active, and demo accounts; returns
    (email, role, password note) to print."""
    from backend.dicom_node.dev import ensure_service_account
    from backend.models_registry.service import register_shipped_model
    from backend.platform.services import Services

    services = await Services.start(settings)
    try:
        await services.store.ensure_bucket()
        await services.predictions.ensure_table()
        await register_shipped_model(services)
        await ensure_service_account(services)
        return await ensure_demo_accounts(services)
    finally:
        await services.close()


async def ensure_demo_accounts(services: Any) -> list[tuple[str, str, str]]:
    """One account per role through the accounts service; an existing one is left as it is,
    except the admin's password when MEDSEGTEXT_ADMIN_PASSWORD fixes it. An address that is
    already another role's account (MEDSEGTEXT_ADMIN_EMAIL naming a clinician, say) is not
    this stack's to reset: it is left untouched and the refusal logged as an error. Returns
    what to print for each: the password, or, where the stored one is no longer the demo one,
    how to set a new one (checked against the stored hash, so the printout never shows a stale
    password)."""
    from backend.accounts import repository
    from backend.accounts.passwords import check_policy, hash_password, verify_password
    from backend.accounts.service import create_user
    from backend.platform.db import transaction

    accounts = list(DEMO_ACCOUNTS)
    admin_email = os.environ.get("MEDSEGTEXT_ADMIN_EMAIL")
    admin_password = os.environ.get("MEDSEGTEXT_ADMIN_PASSWORD")
    accounts[2] = (admin_email or accounts[2][0], Role.ADMIN, admin_password or accounts[2][2])
    async with services.sessions() as session:
        stored = [
            await repository.get_user_by_email(session, email.strip().lower())
            for email, _, _ in accounts
        ]
    # the checks side by side (threads): each argon2 verification holds a core for a moment
    still = await asyncio.gather(
        *(
            asyncio.to_thread(verify_password, user.password_hash, password) if user else _false()
            for user, (_, _, password) in zip(stored, accounts, strict=True)
        )
    )
    printed: list[tuple[str, str, str]] = []
    for (email, role, password), unchanged in zip(accounts, still, strict=True):
        async with transaction(services.sessions) as session:
            # read again: an earlier entry may have just made this address (the same email)
            user = await repository.get_user_by_email(session, email.strip().lower())
            if user is not None and user.role != role:
                log.error(
                    "%s is a %s's account, not the demo %s: left as it is (password "
                    "untouched); name another address%s",
                    email,
                    user.role,
                    role,
                    " in MEDSEGTEXT_ADMIN_EMAIL" if role == Role.ADMIN and admin_email else "",
                )
                printed.append((email, role, f"not set up: already a {user.role}'s account"))
            elif user is None:
                await create_user(
                    session,
                    None,
                    email=email,
                    password=password,
                    role=role,
                    full_name=f"Demo {role}",
                )
                printed.append((email, role, password))
            elif role == Role.ADMIN and admin_password:
                check_policy(admin_password)
                if not unchanged:
                    user.password_hash = hash_password(admin_password)
                    session.add(user)
                printed.append((email, role, password))
            elif unchanged:
                printed.append((email, role, password))
            else:
                printed.append((email, role, password_changed_note(email)))
    return printed


async def _false() -> bool:
    return False


def password_changed_note(email: str) -> str:
    return (
        "password changed since setup; reset with "
        f"`.venv/bin/medsegtext users set-password --email {email}`"
    )
