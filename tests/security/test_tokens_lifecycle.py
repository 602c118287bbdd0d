"""Token and session lifecycle: lifetimes, revocation on password change and deactivation (for
good), per-user caps, what admins and users can see and end, and sign-in throttling per account
and client address that never locks an owner out from a client the attacker is not on.

The throttling tests run the real API under uvicorn and connect from distinct loopback source
addresses (127.0.0.2, 127.0.0.3, ...): the client address is the TCP peer, as in production."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlmodel import select

from backend.accounts.models import ApiToken
from backend.accounts.tokens import hash_token, new_token, token_prefix
from backend.platform.db import transaction, utcnow
from tests.backend.backend_testkit import PASSWORD, Stack
from tests.faults.helpers import ApiServer

BAD = {"detail": "Incorrect email or password."}
WRONG = "wrong-password-123"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _status(stack: Stack, token: str) -> int:
    return (await stack.client.get("/api/me", headers=_bearer(token))).status_code


async def _personal(stack: Stack, session_token: str, **body: Any) -> httpx.Response:
    return await stack.client.post(
        "/api/auth/tokens", headers=_bearer(session_token), json={"name": "pacs", **body}
    )


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _legacy_token(stack: Stack, user_id: int, age: timedelta) -> str:
    """A personal token as the code before lifetimes made them: no expiry, made `age` ago."""
    secret = new_token()
    async with transaction(stack.services.sessions) as db:
        db.add(
            ApiToken(
                user_id=user_id,
                kind="personal",
                name="legacy",
                token_hash=hash_token(secret),
                prefix=token_prefix(secret),
                created_at=utcnow() - age,
                expires_at=None,
            )
        )
    return secret


async def _revoked_at(stack: Stack, token: str) -> datetime | None:
    async with stack.services.sessions() as db:
        row = (
            await db.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        ).one()
        return row.revoked_at


# --- lifetimes ----------------------------------------------------------------------------------


async def test_personal_tokens_get_a_bounded_lifetime(other_stack: Any) -> None:
    async with other_stack(personal_token_max_days=2) as s:
        _, email = await s.create_user("clinician")
        session = await s.login(email)
        default = await _personal(s, session)
        assert default.status_code == 201, default.text
        expires = _when(default.json()["expires_at"])
        assert timedelta(days=2) - timedelta(minutes=5) < expires - utcnow() <= timedelta(days=2)
        shorter = await _personal(s, session, expires_in_days=1)
        assert shorter.status_code == 201, shorter.text
        assert _when(shorter.json()["expires_at"]) - utcnow() <= timedelta(days=1)
        longer = await _personal(s, session, expires_in_days=3)
        assert longer.status_code == 400, longer.text
        assert "expires_in_days" in longer.json()["detail"]
        assert "2" in longer.json()["detail"]


async def test_expired_personal_token_is_refused(other_stack: Any, monkeypatch: Any) -> None:
    from backend.accounts import service

    async with other_stack(personal_token_max_days=2) as s:
        _, email = await s.create_user("reviewer")
        token = (await _personal(s, await s.login(email))).json()["token"]
        assert await _status(s, token) == 200
        later = utcnow() + timedelta(days=2, seconds=1)  # the service's clock, not a sleep
        monkeypatch.setattr(service, "utcnow", lambda: later)
        assert await _status(s, token) == 401


async def test_tokens_made_without_an_expiry_end_at_the_maximum(other_stack: Any) -> None:
    """Tokens made before lifetimes existed (expires_at empty) count from their creation."""
    async with other_stack(personal_token_max_days=30) as s:
        user_id, _ = await s.create_user("clinician")
        young = await _legacy_token(s, user_id, timedelta(days=29))
        old = await _legacy_token(s, user_id, timedelta(days=31))
        assert (await _status(s, young), await _status(s, old)) == (200, 401)


# --- revocation ---------------------------------------------------------------------------------


async def test_admin_password_reset_revokes_personal_tokens(stack: Stack, admin: Any) -> None:
    user_id, email = await stack.create_user("clinician")
    personal = (await _personal(stack, await stack.login(email))).json()["token"]
    r = await stack.client.patch(
        f"/api/admin/users/{user_id}", headers=admin[1], json={"password": "a-brand-new-passphrase"}
    )
    assert r.status_code == 200, r.text
    assert await _status(stack, personal) == 401
    assert await _revoked_at(stack, personal) is not None


async def test_own_password_change_revokes_own_personal_tokens(stack: Stack) -> None:
    _, email = await stack.create_user("admin")
    current = await stack.login(email)
    personal = (await _personal(stack, current)).json()["token"]
    r = await stack.client.post(
        "/api/auth/password",
        headers=_bearer(current),
        json={"current_password": PASSWORD, "new_password": "another-long-passphrase"},
    )
    assert r.status_code == 200, r.text
    assert (await _status(stack, current), await _status(stack, personal)) == (200, 401)


async def test_deactivation_revokes_personal_tokens_for_good(stack: Stack, admin: Any) -> None:
    user_id, email = await stack.create_user("reviewer")
    personal = (await _personal(stack, await stack.login(email))).json()["token"]
    for active in (False, True):
        r = await stack.client.patch(
            f"/api/admin/users/{user_id}", headers=admin[1], json={"is_active": active}
        )
        assert r.status_code == 200, r.text
        assert await _status(stack, personal) == 401  # reactivation revives nothing
    assert await _revoked_at(stack, personal) is not None  # revoked, not only hidden


# --- caps ---------------------------------------------------------------------------------------


async def test_live_personal_tokens_are_capped(other_stack: Any) -> None:
    async with other_stack(personal_tokens_per_user=3) as s:
        _, email = await s.create_user("clinician")
        session = await s.login(email)
        made = [(await _personal(s, session)).json() for _ in range(3)]
        refused = await _personal(s, session)
        assert refused.status_code == 409, refused.text
        assert "3" in refused.json()["detail"] and "revoke" in refused.json()["detail"]
        gone = await s.client.delete(f"/api/auth/tokens/{made[0]['id']}", headers=_bearer(session))
        assert gone.status_code == 204
        assert (await _personal(s, session)).status_code == 201


async def test_sessions_past_the_cap_end_oldest_first(other_stack: Any) -> None:
    async with other_stack(sessions_per_user=2) as s:
        user_id, email = await s.create_user("clinician")
        first, second, third = [await s.login(email) for _ in range(3)]
        assert [await _status(s, t) for t in (first, second, third)] == [401, 200, 200]
        _, admin_email = await s.create_user("admin")
        events = (
            await s.client.get(
                f"/api/admin/audit?action=token.revoke&user_id={user_id}",
                headers=_bearer(await s.login(admin_email)),
            )
        ).json()["items"]
        assert [e["detail"]["reason"] for e in events] == ["session_limit"]


# --- admins: a user's tokens and sessions --------------------------------------------------------


async def test_admin_lists_and_revokes_a_users_tokens(
    stack: Stack, admin: Any, clinician: Any
) -> None:
    user_id, email = await stack.create_user("clinician")
    session = await stack.login(email)
    first = (await _personal(stack, session)).json()
    second = (await _personal(stack, session, name="ris")).json()
    base = f"/api/admin/users/{user_id}/tokens"
    listed = await stack.client.get(base, headers=admin[1])
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert {(t["kind"], t["name"]) for t in items} == {
        ("session", "sign-in"),
        ("personal", "pacs"),
        ("personal", "ris"),
    }
    assert all("token" not in t and "token_hash" not in t for t in items)
    sessions = (await stack.client.get(f"{base}?kind=session", headers=admin[1])).json()
    assert [t["kind"] for t in sessions["items"]] == ["session"]
    assert sessions["items"][0]["user_agent"] and sessions["items"][0]["client_addr"]

    assert (await stack.client.get(base, headers=clinician[1])).status_code == 403
    assert (
        await stack.client.delete(
            f"/api/admin/users/{admin[0]}/tokens/{first['id']}", headers=admin[1]
        )
    ).status_code == 404  # not his token
    assert (
        await stack.client.get("/api/admin/users/2147483647/tokens", headers=admin[1])
    ).status_code == 404

    gone = await stack.client.delete(f"{base}/{first['id']}", headers=admin[1])
    assert gone.status_code == 204, gone.text
    assert (await _status(stack, first["token"]), await _status(stack, session)) == (401, 200)
    after = (await stack.client.get(f"{base}?include_ended=true", headers=admin[1])).json()
    assert {t["id"]: t["revoked_at"] is not None for t in after["items"]}[first["id"]]
    assert first["id"] not in [
        t["id"] for t in (await stack.client.get(base, headers=admin[1])).json()["items"]
    ]  # live ones only by default

    everything = await stack.client.post(f"{base}/revoke-all", headers=admin[1])
    assert everything.status_code == 200, everything.text
    assert everything.json() == {"revoked": 2}
    assert [await _status(stack, t) for t in (session, second["token"])] == [401, 401]
    events = (
        await stack.client.get(
            f"/api/admin/audit?action=token.revoke&user_id={admin[0]}&limit=100", headers=admin[1]
        )
    ).json()["items"]
    revoked = {e["object_id"] for e in events if (e["detail"] or {}).get("user_id") == user_id}
    assert revoked >= {str(first["id"]), str(second["id"])}


# --- users: their own sessions -------------------------------------------------------------------


async def test_user_lists_own_sessions_and_ends_the_others(stack: Stack, clinician: Any) -> None:
    user_id, email = await stack.create_user("reviewer")
    tokens = []
    for agent in ("Firefox on ward 3", "Chrome in radiology", "curl"):
        r = await stack.client.post(
            "/api/auth/login",
            headers={"User-Agent": agent},
            json={"email": email, "password": PASSWORD},
        )
        stack.client.cookies.clear()
        tokens.append(r.json()["token"])
    me = _bearer(tokens[0])
    listed = await stack.client.get("/api/auth/sessions", headers=me)
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert len(rows) == 3 and {r["user_agent"] for r in rows} == {
        "Firefox on ward 3",
        "Chrome in radiology",
        "curl",
    }
    assert [r["user_agent"] for r in rows if r["current"]] == ["Firefox on ward 3"]
    assert all(r["client_addr"] and r["created_at"] for r in rows)
    by_agent = {r["user_agent"]: r["id"] for r in rows}

    current = await stack.client.delete(
        f"/api/auth/sessions/{by_agent['Firefox on ward 3']}", headers=me
    )
    assert current.status_code == 409 and "logout" in current.json()["detail"]
    foreign = await stack.client.delete(
        f"/api/auth/sessions/{by_agent['curl']}", headers=clinician[1]
    )
    assert foreign.status_code == 404
    one = await stack.client.delete(f"/api/auth/sessions/{by_agent['curl']}", headers=me)
    assert one.status_code == 204, one.text
    assert await _status(stack, tokens[2]) == 401

    others = await stack.client.post("/api/auth/sessions/end-others", headers=me)
    assert others.status_code == 200 and others.json() == {"revoked": 1}
    assert [await _status(stack, t) for t in tokens] == [200, 401, 401]
    assert [
        r["current"] for r in (await stack.client.get("/api/auth/sessions", headers=me)).json()
    ] == [True]
    events = (
        await stack.client.get(
            f"/api/admin/audit?action=token.revoke&user_id={user_id}",
            headers=(await stack.user_headers("admin"))[1],
        )
    ).json()
    assert sorted(e["detail"]["reason"] for e in events["items"]) == ["end_others", "user"]


# --- throttling per account and client ---------------------------------------------------------


@contextmanager
def _api(stack: Stack, **changes: Any) -> Iterator[ApiServer]:
    server = ApiServer(stack.settings.model_copy(update=changes)).start()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def _client(server: ApiServer, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=server.url, transport=transport, timeout=30) as client:
        yield client


async def _sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    r = await client.post("/api/auth/login", json={"email": email, "password": password})
    client.cookies.clear()
    return r


def _unknown() -> str:
    return f"nobody-{uuid.uuid4().hex[:8]}@example.org"


async def test_wrong_passwords_from_one_client_do_not_lock_the_owner_out(stack: Stack) -> None:
    """The probe's finding: five anonymous wrong passwords locked the account for everyone."""
    _, email = await stack.create_user("clinician")
    unknown = _unknown()
    with _api(stack) as server:
        async with _client(server, "127.0.0.2") as a, _client(server, "127.0.0.3") as b:
            for _ in range(stack.settings.login_max_failures):
                for target in (email, unknown):
                    r = await _sign_in(a, target, WRONG)
                    assert (r.status_code, r.json()) == (401, BAD)
            answers = [await _sign_in(a, target, PASSWORD) for target in (email, unknown)]
            assert [r.status_code for r in answers] == [429, 429]  # no enumeration either
            assert len({r.json()["detail"].split(" in ")[0] for r in answers}) == 1
            owner = await _sign_in(b, email, PASSWORD)
            assert owner.status_code == 200, owner.text
            still = await _sign_in(a, email, PASSWORD)
            assert still.status_code == 429 and int(still.headers["retry-after"]) > 0


async def test_one_client_spraying_many_accounts_is_throttled(stack: Stack) -> None:
    _, email = await stack.create_user("clinician")
    with _api(stack, login_client_max_failures=4) as server:
        async with _client(server, "127.0.0.4") as a, _client(server, "127.0.0.5") as b:
            for _ in range(4):
                assert (await _sign_in(a, _unknown(), WRONG)).status_code == 401
            assert (await _sign_in(a, _unknown(), WRONG)).status_code == 429
            assert (await _sign_in(a, email, PASSWORD)).status_code == 429
            assert (await _sign_in(b, email, PASSWORD)).status_code == 200


async def test_account_wide_backoff_spares_clients_the_owner_signed_in_from(stack: Stack) -> None:
    """Many clients guessing one account back it off for new clients only, never for a client
    the owner has signed in from."""
    _, email = await stack.create_user("clinician")
    with _api(stack, login_max_failures=3, login_account_max_failures=4) as server:
        async with _client(server, "127.0.0.6") as owner_pc:
            assert (await _sign_in(owner_pc, email, PASSWORD)).status_code == 200
            for address in ("127.0.0.7", "127.0.0.8"):
                async with _client(server, address) as attacker:
                    for _ in range(2):
                        assert (await _sign_in(attacker, email, WRONG)).status_code == 401
            async with _client(server, "127.0.0.9") as new_client:
                backed_off = await _sign_in(new_client, email, PASSWORD)
                assert backed_off.status_code == 429, backed_off.text
            assert (await _sign_in(owner_pc, email, PASSWORD)).status_code == 200
