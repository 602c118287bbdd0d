"""Sign-in, throttling without user enumeration, cookies, logout and token revocation."""

from __future__ import annotations

import asyncio
import threading
import uuid

from tests.backend.backend_testkit import PASSWORD, Stack


def _email() -> str:
    return f"nobody-{uuid.uuid4().hex[:8]}@example.org"


async def _login(stack: Stack, email: str, password: str):  # type: ignore[no-untyped-def]
    r = await stack.client.post("/api/auth/login", json={"email": email, "password": password})
    stack.client.cookies.clear()
    return r


async def test_login_sets_cookie_and_returns_token(stack: Stack) -> None:
    _, email = await stack.create_user("clinician")
    r = await stack.client.post(
        "/api/auth/login", json={"email": email.upper(), "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["email"] == email and body["user"]["role"] == "clinician"
    assert "password_hash" not in body["user"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"medsegtext_session={body['token']}")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # settings.cookie_secure is off in tests
    me = await stack.client.get("/api/me")  # the cookie alone authenticates
    assert me.status_code == 200 and me.json()["email"] == email
    stack.client.cookies.clear()


async def test_secure_cookie_when_configured(other_stack) -> None:
    async with other_stack(cookie_secure=True) as secure:
        _, email = await secure.create_user("reviewer")
        r = await secure.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert "Secure" in r.headers["set-cookie"]
        secure.client.cookies.clear()


async def test_no_user_enumeration_and_lockout(stack: Stack) -> None:
    _, known = await stack.create_user("clinician")
    unknown = _email()
    limit = stack.settings.login_max_failures
    for _ in range(limit):
        wrong = await _login(stack, known, "wrong-password-123")
        missing = await _login(stack, unknown, "wrong-password-123")
        assert wrong.status_code == missing.status_code == 401
        assert wrong.json() == missing.json() == {"detail": "Incorrect email or password."}
    for email, password in ((known, PASSWORD), (unknown, PASSWORD)):
        locked = await _login(stack, email, password)  # even the right password waits
        assert locked.status_code == 429, locked.text
        assert int(locked.headers["retry-after"]) > 0
        assert "try again" in locked.json()["detail"]


async def test_lock_expires(other_stack, monkeypatch) -> None:
    from datetime import timedelta

    from backend.accounts import service
    from backend.platform.db import utcnow

    async with other_stack(login_max_failures=2, login_lockout_seconds=60) as s:
        _, email = await s.create_user("clinician")
        for _ in range(2):
            assert (await _login(s, email, "wrong-password-123")).status_code == 401
        assert (await _login(s, email, PASSWORD)).status_code == 429
        # a minute later (the service's clock, not a sleep: load must not make this flaky)
        monkeypatch.setattr(service, "utcnow", lambda: utcnow() + timedelta(seconds=61))
        assert (await _login(s, email, PASSWORD)).status_code == 200


async def test_logout_revokes_at_once(stack: Stack) -> None:
    _, email = await stack.create_user("clinician")
    token = await stack.login(email)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await stack.client.get("/api/me", headers=headers)).status_code == 200
    out = await stack.client.post("/api/auth/logout", headers=headers)
    assert out.status_code == 204
    assert (
        'medsegtext_session=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    assert (await stack.client.get("/api/me", headers=headers)).status_code == 401
    stack.client.cookies.set("medsegtext_session", token)
    assert (await stack.client.get("/api/me")).status_code == 401
    stack.client.cookies.clear()


async def test_personal_tokens(stack: Stack) -> None:
    _, headers = await stack.user_headers("reviewer")
    created = await stack.client.post("/api/auth/tokens", headers=headers, json={"name": "pacs"})
    assert created.status_code == 201
    token, token_id = created.json()["token"], created.json()["id"]
    api = {"Authorization": f"Bearer {token}"}
    assert (await stack.client.get("/api/cases", headers=api)).status_code == 200
    listed = (await stack.client.get("/api/auth/tokens", headers=headers)).json()
    assert [t["name"] for t in listed] == ["pacs"] and "token" not in listed[0]
    gone = await stack.client.delete(f"/api/auth/tokens/{token_id}", headers=headers)
    assert gone.status_code == 204
    assert (await stack.client.get("/api/cases", headers=api)).status_code == 401


async def test_bad_tokens_and_inactive_users(stack: Stack, admin) -> None:
    for value in ("Bearer nonsense", "Bearer ", "Basic abc", ""):
        r = await stack.client.get("/api/me", headers={"Authorization": value})
        assert r.status_code == 401 and r.json()["detail"]
    user_id, email = await stack.create_user("clinician")
    token = await stack.login(email)
    off = await stack.client.patch(
        f"/api/admin/users/{user_id}", headers=admin[1], json={"is_active": False}
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert (
        await stack.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401
    r = await _login(stack, email, PASSWORD)
    assert r.status_code == 401 and r.json() == {"detail": "Incorrect email or password."}


async def test_login_validation(stack: Stack) -> None:
    r = await stack.client.post("/api/auth/login", json={"email": "a@b.c"})
    assert r.status_code == 400 and "password" in r.json()["detail"]


async def test_argon2_runs_at_most_argon2_at_once_in_a_process() -> None:
    """Each argon2 hash or verify holds 64 MiB: a shift signing in at once must not multiply
    that. The same counter run through plain threads shows the overlap it would otherwise have."""
    from backend.accounts.passwords import ARGON2_AT_ONCE, hash_password, run_argon2

    running, peak, lock = 0, 0, threading.Lock()

    def counted(password: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            return hash_password(password)
        finally:
            with lock:
                running -= 1

    hashes = await asyncio.gather(*(run_argon2(counted, PASSWORD) for _ in range(4)))
    assert len(set(hashes)) == 4 and peak == ARGON2_AT_ONCE
    peak = 0
    await asyncio.gather(*(asyncio.to_thread(counted, PASSWORD) for _ in range(4)))
    assert peak > ARGON2_AT_ONCE


async def test_me_lists_what_the_role_may_do(stack: Stack) -> None:
    """GET /api/me names the caller's permissions: the portal offers what they list."""
    expected = {
        "clinician": ["upload_cases"],
        "reviewer": ["review_cases", "see_all_cases"],
        "admin": ["upload_cases", "review_cases", "see_all_cases", "administer"],
    }
    for role, permissions in expected.items():
        _, headers = await stack.user_headers(role)
        me = await stack.client.get("/api/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["role"] == role and me.json()["permissions"] == permissions
