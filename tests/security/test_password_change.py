"""Changing your own password (POST /api/auth/password) and an admin's reset (PATCH
/api/admin/users/{id}): the current password is required and wrong ones are throttled and
audited, the policy names its rule, and every other session and personal token ends while the
session that made the change stays (issue 14, accounts in the portal)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.backend.backend_testkit import PASSWORD, Stack

NEW = "a-brand-new-passphrase-1"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _status(stack: Stack, token: str) -> int:
    return (await stack.client.get("/api/me", headers=_bearer(token))).status_code


async def _change(stack: Stack, token: str, current: str, new: str) -> httpx.Response:
    return await stack.client.post(
        "/api/auth/password",
        headers=_bearer(token),
        json={"current_password": current, "new_password": new},
    )


async def _personal(stack: Stack, token: str) -> str:
    r = await stack.client.post("/api/auth/tokens", headers=_bearer(token), json={"name": "pacs"})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


async def _events(stack: Stack, admin: Any, action: str, user_id: int) -> list[dict[str, Any]]:
    r = await stack.client.get(
        f"/api/admin/audit?action={action}&user_id={user_id}", headers=admin[1]
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_own_change_ends_other_sessions_and_tokens_and_keeps_this_one(
    stack: Stack, admin: Any
) -> None:
    user_id, email = await stack.create_user("clinician")
    current, other = await stack.login(email), await stack.login(email)
    personal = await _personal(stack, other)
    r = await _change(stack, current, PASSWORD, NEW)
    assert r.status_code == 200, r.text
    assert r.json() == {"revoked": 2}
    assert [await _status(stack, t) for t in (current, other, personal)] == [200, 401, 401]
    # the new password signs in, the old one no longer does
    assert (
        await stack.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    ).status_code == 401
    stack.client.cookies.clear()
    assert await _status(stack, await stack.login(email, NEW)) == 200
    [event] = await _events(stack, admin, "auth.password_change", user_id)
    assert event["detail"] == {"tokens_revoked": 2}
    assert event["object_id"] == str(user_id)


async def test_wrong_current_password_is_refused_and_audited(stack: Stack, admin: Any) -> None:
    user_id, email = await stack.create_user("reviewer")
    token = await stack.login(email)
    r = await _change(stack, token, "not-my-password-1", NEW)
    assert r.status_code == 400, r.text
    assert "current_password" in r.json()["detail"]
    assert r.json()["errors"][0]["key"] == "current_password"
    assert await _status(stack, token) == 200  # a typo does not sign you out
    assert (
        await stack.client.post("/api/auth/login", json={"email": email, "password": NEW})
    ).status_code == 401  # nothing changed
    stack.client.cookies.clear()
    [event] = await _events(stack, admin, "auth.password_change_failed", user_id)
    assert event["detail"] == {"reason": "bad_password"}


async def test_weak_new_password_is_refused_naming_the_rule(stack: Stack) -> None:
    _, email = await stack.create_user("clinician")
    token = await stack.login(email)
    short = await _change(stack, token, PASSWORD, "short")
    assert short.status_code == 400, short.text
    assert "at least 12 characters" in short.json()["detail"]
    assert short.json()["errors"][0]["key"] == "new_password"
    own_email = await _change(stack, token, PASSWORD, email)
    assert own_email.status_code == 400 and "email" in own_email.json()["detail"]
    same = await _change(stack, token, PASSWORD, PASSWORD)
    assert same.status_code == 400 and "differ" in same.json()["detail"]
    assert await _status(stack, await stack.login(email)) == 200  # the old one still works


async def test_wrong_current_passwords_are_throttled(other_stack: Any) -> None:
    async with other_stack(login_max_failures=3, login_lockout_seconds=120) as s:
        _, email = await s.create_user("clinician")
        token = await s.login(email)
        for _ in range(3):
            assert (await _change(s, token, "guess-guess-guess", NEW)).status_code == 400
        locked = await _change(s, token, PASSWORD, NEW)  # even the right one, for a while
        assert locked.status_code == 429, locked.text
        assert 0 < int(locked.headers["retry-after"]) <= 120
        assert "password" in locked.json()["detail"]
        assert await _status(s, token) == 200
        # signing in is a separate count: the owner is not locked out of the account
        assert await _status(s, await s.login(email)) == 200


async def test_personal_token_used_for_the_change_ends_too(stack: Stack) -> None:
    """Only a sign-in session is kept: a personal token dies with the password it came from,
    even the one that asked for the change."""
    _, email = await stack.create_user("clinician")
    session = await stack.login(email)
    personal = await _personal(stack, session)
    r = await _change(stack, personal, PASSWORD, NEW)
    assert r.status_code == 200, r.text
    assert [await _status(stack, t) for t in (session, personal)] == [401, 401]


async def test_anonymous_cannot_change_a_password(stack: Stack) -> None:
    r = await stack.client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW}
    )
    assert r.status_code == 401


async def test_admin_reset_ends_the_users_sessions_and_tokens(stack: Stack, admin: Any) -> None:
    user_id, email = await stack.create_user("clinician")
    first, second = await stack.login(email), await stack.login(email)
    personal = await _personal(stack, first)
    r = await stack.client.patch(
        f"/api/admin/users/{user_id}", headers=admin[1], json={"password": NEW}
    )
    assert r.status_code == 200, r.text
    assert [await _status(stack, t) for t in (first, second, personal)] == [401, 401, 401]
    assert await _status(stack, admin[1]["Authorization"].split()[1]) == 200
    assert await _status(stack, await stack.login(email, NEW)) == 200
    weak = await stack.client.patch(
        f"/api/admin/users/{user_id}", headers=admin[1], json={"password": "short"}
    )
    assert weak.status_code == 400 and "at least 12" in weak.json()["detail"]


async def test_admins_change_their_own_password_with_the_current_one(stack: Stack) -> None:
    """The reset is for others: an admin's own password needs the current one, as anyone's,
    so a borrowed admin session cannot take the account over."""
    admin_id, email = await stack.create_user("admin")
    token = await stack.login(email)
    r = await stack.client.patch(
        f"/api/admin/users/{admin_id}", headers=_bearer(token), json={"password": NEW}
    )
    assert r.status_code == 400, r.text
    assert "/api/auth/password" in r.json()["detail"]
    assert (await _change(stack, token, PASSWORD, NEW)).status_code == 200
