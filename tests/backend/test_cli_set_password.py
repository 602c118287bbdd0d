"""`medsegtext users set-password` and what `make up` prints for a demo account whose password
changed (issue 14: it printed admin-demo-pass even when the stored password differed)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from backend import cli
from backend.devstack_accounts import ensure_demo_accounts
from backend.settings import Settings
from tests.backend.backend_testkit import PASSWORD, Stack


async def test_set_password_replaces_it_and_ends_every_session(
    stack: Stack, settings: Settings
) -> None:
    _, email = await stack.create_user("admin")
    token = await stack.login(email)
    new = "a-brand-new-passphrase"
    ended = await asyncio.to_thread(cli.users_set_password, email.upper(), new, settings)
    assert ended == 1
    me = await stack.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    old = await stack.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    stack.client.cookies.clear()
    headers = {"Authorization": f"Bearer {await stack.login(email, new)}"}
    audit = await stack.client.get("/api/admin/audit?action=user.update&limit=50", headers=headers)
    assert any(e["detail"].get("via") == "cli" for e in audit.json()["items"]), audit.text


def test_set_password_refusals(settings: Settings, monkeypatch, capsys) -> None:
    with pytest.raises(cli.CliError, match="no user"):
        cli.users_set_password(
            f"nobody-{uuid.uuid4().hex[:6]}@example.org", "long-enough-password", settings
        )
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEDSEGTEXT_PASSWORD", "short")
    assert cli.main(["users", "set-password", "--email", "nobody@example.org"]) == 1
    assert "no user" in capsys.readouterr().err


async def test_make_up_prints_the_reset_command_when_a_demo_password_changed(
    stack: Stack, settings: Settings, monkeypatch
) -> None:
    monkeypatch.delenv("MEDSEGTEXT_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("MEDSEGTEXT_ADMIN_PASSWORD", raising=False)
    first = {email: note for email, _, note in await ensure_demo_accounts(stack.services)}
    assert first["admin@example.org"] == "admin-demo-pass"
    await asyncio.to_thread(
        cli.users_set_password, "admin@example.org", "changed-after-setup-pass", settings
    )
    again = {email: note for email, _, note in await ensure_demo_accounts(stack.services)}
    assert "admin-demo-pass" not in again["admin@example.org"]
    assert "password changed since setup" in again["admin@example.org"]
    assert "users set-password --email admin@example.org" in again["admin@example.org"]
    assert again["clinician@example.org"] == "clinician-demo-pass"
