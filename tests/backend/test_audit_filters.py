"""Audit filters a person can use (issue 14): the action names come from the API, a user is
named by email, and a range that ends before it starts, an unknown action or an unknown email
is a 400 naming the parameter instead of an empty page."""

from __future__ import annotations

from typing import Any

from backend.admin import audit
from backend.cases import backfill
from tests.backend.backend_testkit import Stack

PATHS = ("/api/admin/audit", "/api/admin/audit.csv")


async def test_actions_are_listed_with_a_description(
    stack: Stack, admin: Any, clinician: Any
) -> None:
    r = await stack.client.get("/api/admin/audit/actions", headers=admin[1])
    assert r.status_code == 200, r.text
    listed = {a["name"]: a["description"] for a in r.json()}
    assert {
        "auth.sign_in",
        "auth.sign_in_failed",
        "auth.password_change",
        "user.update",
        "model.activate",
        "model.retire",
        "case.upload",
    } <= set(listed)
    assert all(listed[name] for name in audit.ACTIONS)  # every known one says what it is
    assert [a["name"] for a in r.json()] == sorted(listed)
    assert (
        await stack.client.get("/api/admin/audit/actions", headers=clinician[1])
    ).status_code == 403


def test_every_recorded_action_is_known() -> None:
    """The maintenance command's actions are recorded outside backend.admin.audit."""
    assert {backfill.DEIDENTIFY_STORED, backfill.QUARANTINE} <= set(audit.ACTIONS)


async def test_filter_by_user_email(stack: Stack, admin: Any) -> None:
    user_id, email = await stack.create_user("reviewer")
    await stack.login(email)
    for path in PATHS:
        r = await stack.client.get(
            f"{path}?user_email={email.upper()}&action=auth.sign_in", headers=admin[1]
        )
        assert r.status_code == 200, r.text
    page = (await stack.client.get(f"/api/admin/audit?user_email={email}", headers=admin[1])).json()
    assert page["total"] == 1
    assert [(e["user_id"], e["action"]) for e in page["items"]] == [(user_id, "auth.sign_in")]
    csv = (
        await stack.client.get(f"/api/admin/audit.csv?user_email={email}", headers=admin[1])
    ).text
    assert csv.count("auth.sign_in") == 1 and email in csv


async def test_unknown_email_is_400(stack: Stack, admin: Any) -> None:
    for path in PATHS:
        r = await stack.client.get(f"{path}?user_email=nobody-here@example.org", headers=admin[1])
        assert r.status_code == 400, r.text
        assert "user_email" in r.json()["detail"]
        assert "nobody-here@example.org" in r.json()["detail"]


async def test_email_and_id_of_different_users_is_400(stack: Stack, admin: Any) -> None:
    _, email = await stack.create_user("clinician")
    r = await stack.client.get(
        f"/api/admin/audit?user_email={email}&user_id={admin[0]}", headers=admin[1]
    )
    assert r.status_code == 400, r.text
    assert "user_id" in r.json()["detail"] and "user_email" in r.json()["detail"]


async def test_unknown_action_is_400(stack: Stack, admin: Any) -> None:
    for path in PATHS:
        r = await stack.client.get(f"{path}?action=auth.login", headers=admin[1])
        assert r.status_code == 400, r.text
        detail = r.json()["detail"]
        assert "action" in detail and "auth.login" in detail
        assert "/api/admin/audit/actions" in detail


async def test_inverted_date_range_is_400(stack: Stack, admin: Any) -> None:
    for path in PATHS:
        r = await stack.client.get(
            f"{path}?since=2026-03-02T00:00:00Z&until=2026-03-01T23:59:59Z", headers=admin[1]
        )
        assert r.status_code == 400, r.text
        assert "since" in r.json()["detail"] and "until" in r.json()["detail"]
        assert {e["key"] for e in r.json()["errors"]} == {"since", "until"}
    # the same instant is a valid (one-instant) range; offsets are compared as instants
    same = await stack.client.get(
        "/api/admin/audit?since=2026-03-02T01:00:00%2B01:00&until=2026-03-02T00:00:00Z",
        headers=admin[1],
    )
    assert same.status_code == 200, same.text
