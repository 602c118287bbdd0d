"""The accounts `make up` sets up (backend.devstack_accounts.ensure_demo_accounts): the
admin named by MEDSEGTEXT_ADMIN_EMAIL gets MEDSEGTEXT_ADMIN_PASSWORD, but only an admin account;
an address that belongs to another role's account is refused and left exactly as it was."""

from __future__ import annotations

import logging

import pytest

from backend.devstack_accounts import ensure_demo_accounts
from tests.backend.backend_testkit import PASSWORD, Stack

ADMIN_PASSWORD = "make-up-admin-passphrase"


async def _role_of(stack: Stack, token: str) -> str:
    me = await stack.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    return str(me.json()["role"])


async def test_the_admin_it_owns_gets_the_admin_password(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, email = await stack.create_user("admin")
    monkeypatch.setenv("MEDSEGTEXT_ADMIN_EMAIL", email)
    monkeypatch.setenv("MEDSEGTEXT_ADMIN_PASSWORD", ADMIN_PASSWORD)
    printed = {e: (role, note) for e, role, note in await ensure_demo_accounts(stack.services)}
    assert printed[email] == ("admin", ADMIN_PASSWORD)
    assert await _role_of(stack, await stack.login(email, ADMIN_PASSWORD)) == "admin"


@pytest.mark.parametrize("role", ["clinician", "reviewer"])
async def test_an_admin_email_of_another_roles_account_is_refused_and_left_alone(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, role: str
) -> None:
    _, email = await stack.create_user(role)
    monkeypatch.setenv("MEDSEGTEXT_ADMIN_EMAIL", email)
    monkeypatch.setenv("MEDSEGTEXT_ADMIN_PASSWORD", ADMIN_PASSWORD)
    with caplog.at_level(logging.ERROR, logger="backend.devstack_accounts"):
        printed = {e: (r, note) for e, r, note in await ensure_demo_accounts(stack.services)}
    assert printed[email] == ("admin", f"not set up: already a {role}'s account")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(email in m and "MEDSEGTEXT_ADMIN_EMAIL" in m for m in errors), errors
    # untouched: the old password still signs in, the new one does not, and it is no admin
    assert await _role_of(stack, await stack.login(email, PASSWORD)) == role
    refused = await stack.client.post(
        "/api/auth/login", json={"email": email, "password": ADMIN_PASSWORD}
    )
    assert refused.status_code == 401
