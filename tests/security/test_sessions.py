"""Session and account security: cookie flags, sessions that end at once, password policy,
throttling shared by every API process, no user enumeration, security headers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.backend.backend_testkit import PASSWORD, Stack, png_bytes, upload_files

BAD = {"detail": "Incorrect email or password."}


def _email() -> str:
    return f"nobody-{uuid.uuid4().hex[:8]}@example.org"


async def _login(stack: Stack, email: str, password: str = PASSWORD) -> Any:
    r = await stack.client.post("/api/auth/login", json={"email": email, "password": password})
    stack.client.cookies.clear()
    return r


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _status(stack: Stack, token: str) -> int:
    return (await stack.client.get("/api/me", headers=_bearer(token))).status_code


async def test_cookie_flags_in_test_and_production(stack: Stack, other_stack: Any) -> None:
    _, email = await stack.create_user("clinician")
    cookie = (await _login(stack, email)).headers["set-cookie"]
    assert all(flag in cookie for flag in ("HttpOnly", "SameSite=lax", "Path=/"))
    assert "Secure" not in cookie  # tests talk plain HTTP
    async with other_stack(environment="production") as prod:
        r = await _login(prod, email)
        assert r.status_code == 200
        assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
        assert r.headers["cache-control"] == "no-store"  # the body carries a token


async def test_logout_ends_the_cookie_session_at_once(stack: Stack) -> None:
    _, email = await stack.create_user("reviewer")
    r = await stack.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    token = r.json()["token"]
    assert (await stack.client.get("/api/me")).status_code == 200  # the cookie alone
    # from a page of the API's own origin (a cookie write from elsewhere is refused: test_csrf)
    out = await stack.client.post("/api/auth/logout", headers={"Sec-Fetch-Site": "same-origin"})
    assert out.status_code == 204 and "Max-Age=0" in out.headers["set-cookie"]
    stack.client.cookies.set("medsegtext_session", token)  # a copy kept by an attacker
    assert (await stack.client.get("/api/me")).status_code == 401
    stack.client.cookies.clear()
    assert await _status(stack, token) == 401


async def test_password_change_ends_every_session_and_token_at_once(
    stack: Stack, admin: Any
) -> None:
    user_id, email = await stack.create_user("clinician")
    first, second = await stack.login(email), await stack.login(email)
    personal = (
        await stack.client.post("/api/auth/tokens", headers=_bearer(first), json={"name": "pacs"})
    ).json()["token"]
    r = await stack.client.patch(
        f"/api/admin/users/{user_id}", headers=admin[1], json={"password": "a-brand-new-passphrase"}
    )
    assert r.status_code == 200, r.text
    assert [await _status(stack, t) for t in (first, second)] == [401, 401]
    assert await _status(stack, personal) == 401  # personal API tokens too
    assert (await _login(stack, email)).status_code == 401
    assert (await _login(stack, email, "a-brand-new-passphrase")).status_code == 200


async def test_own_password_change_keeps_only_the_current_session(stack: Stack) -> None:
    _, email = await stack.create_user("admin")
    current, other = await stack.login(email), await stack.login(email)
    r = await stack.client.post(
        "/api/auth/password",
        headers=_bearer(current),
        json={"current_password": PASSWORD, "new_password": "another-long-passphrase"},
    )
    assert r.status_code == 200, r.text
    assert (await _status(stack, current), await _status(stack, other)) == (200, 401)


async def test_deactivation_ends_sessions_for_good(stack: Stack, admin: Any) -> None:
    user_id, email = await stack.create_user("reviewer")
    token = await stack.login(email)
    for active, expected in ((False, 401), (True, 401)):  # reactivation revives nothing
        r = await stack.client.patch(
            f"/api/admin/users/{user_id}", headers=admin[1], json={"is_active": active}
        )
        assert r.status_code == 200
        assert await _status(stack, token) == expected
    assert (await _login(stack, email)).status_code == 200


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("x" * 11, False),
        ("            ", False),
        ("{email}", False),
        ("{local}", False),
        ("x" * 12, True),
        ("correct horse battery staple", True),
    ],
)
async def test_password_policy_on_create_and_change(
    stack: Stack, admin: Any, password: str, ok: bool
) -> None:
    local = f"someone.long-{uuid.uuid4().hex[:8]}"
    email = f"{local}@example.org"
    password = password.format(email=email.upper(), local=local)
    r = await stack.client.post(
        "/api/admin/users",
        headers=admin[1],
        json={"email": email, "password": password, "role": "clinician"},
    )
    assert r.status_code == (201 if ok else 400), r.text
    if not ok:
        assert "password" in r.json()["detail"]
        return
    bad = await stack.client.patch(
        f"/api/admin/users/{r.json()['id']}", headers=admin[1], json={"password": email}
    )
    assert bad.status_code == 400 and "email" in bad.json()["detail"]


async def test_throttle_is_shared_by_every_api_process(stack: Stack, other_stack: Any) -> None:
    """Failures counted on one API process lock the email on another, known or not, with the
    same answers (the counters live in the database, not in a process)."""
    _, known = await stack.create_user("clinician")
    unknown = _email()
    async with other_stack() as second:
        for email in (known, unknown):
            for i in range(stack.settings.login_max_failures):
                api = stack if i % 2 else second
                r = await _login(api, email, "wrong-password-123")
                assert (r.status_code, r.json()) == (401, BAD)
        answers = []
        for api in (stack, second):
            for email in (known, unknown):
                r = await _login(api, email)
                answers.append((r.status_code, r.json(), r.headers.get("retry-after")))
    assert {a[0] for a in answers} == {429}
    assert len({a[1]["detail"].split(" in ")[0] for a in answers}) == 1
    assert all(295 <= int(a[2]) <= 300 for a in answers), answers


async def test_unknown_email_and_wrong_password_cost_the_same(
    stack: Stack, admin: Any, monkeypatch: Any
) -> None:
    """One argon2 verification whatever is wrong, so timing tells nothing either."""
    calls: list[int] = []
    real = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str, password: str | bytes) -> bool:
        calls.append(1)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    user_id, known = await stack.create_user("clinician")
    await stack.client.patch(
        f"/api/admin/users/{user_id}", headers=admin[1], json={"is_active": False}
    )
    for email in (_email(), known, known.upper()):
        before = len(calls)
        r = await _login(stack, email, "wrong-password-123")
        assert (r.status_code, r.json(), len(calls) - before) == (401, BAD, 1)
    _, other = await stack.create_user("clinician")
    before = len(calls)
    assert (await _login(stack, other, "wrong-password-123")).json() == BAD
    assert len(calls) - before == 1


async def test_security_headers_on_every_kind_of_response(stack: Stack, clinician: Any) -> None:
    case = await stack.client.post(
        "/api/cases", headers=clinician[1], files=upload_files(png_bytes())
    )
    answers = [
        await stack.client.get("/api/health"),
        await stack.client.get("/api/me"),  # 401
        await stack.client.get("/api/me", headers=clinician[1]),
        await stack.client.get("/api/nowhere", headers=clinician[1]),  # 404
        await stack.client.delete("/api/health"),  # 405
        await stack.client.post("/api/auth/login", json={"email": "x"}),  # 400
        await stack.client.get(f"/api/cases/{case.json()['id']}/image", headers=clinician[1]),
        await stack.client.get("/api/schema/openapi.json"),
        case,
    ]
    for r in answers:
        h = r.headers
        where = f"{r.request.method} {r.request.url.path} -> {r.status_code}"
        assert h["x-content-type-options"] == "nosniff", where
        assert h["x-frame-options"] == "DENY", where
        assert h["referrer-policy"] == "no-referrer", where
        assert "frame-ancestors 'none'" in h["content-security-policy"], where
        assert "strict-transport-security" not in h, where  # only outside development/test
        if not r.request.url.path.startswith("/api/schema"):
            assert "no-store" in h["cache-control"], where
