"""The portal's API client (frontend/portal/api.py) never carries an identity it was not given.

It is one httpx client per event loop, shared by every portal user. The API sets a session
cookie at sign-in; a client that stored it would send it on every later call made without a
token, so an anonymous portal tab acted as whoever signed in last (issue 12). Here the portal's
own client signs in against the real API over HTTP, then calls without a token.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.backend.backend_testkit import PASSWORD, Stack
from tests.faults.helpers import ApiServer

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


@pytest.fixture(scope="module")
def api_server(stack: Stack) -> Iterator[ApiServer]:
    """The API under uvicorn on a free port: the portal's client speaks real HTTP to it."""
    server = ApiServer(stack.settings).start()
    yield server
    server.stop()


@pytest.fixture
async def portal_api(
    api_server: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ModuleType]:
    """frontend/portal/api.py, pointed at the running API, with a client of its own."""
    monkeypatch.setenv("MEDSEGTEXT_API_URL", api_server.url)
    monkeypatch.syspath_prepend(str(FRONTEND))
    sys.modules.pop("portal.api", None)
    from portal import api

    yield api
    await api.client().aclose()
    sys.modules.pop("portal.api", None)


async def _sign_in(api: ModuleType, stack: Stack, role: str) -> tuple[str, str]:
    _, email = await stack.create_user(role)
    body = await api.call("POST", "/api/auth/login", json={"email": email, "password": PASSWORD})
    assert body["user"]["email"] == email and body["token"]
    return email, str(body["token"])


async def test_a_call_after_someone_signed_in_is_not_made_as_them(
    stack: Stack, portal_api: ModuleType
) -> None:
    api = portal_api
    email, token = await _sign_in(api, stack, "admin")
    assert (await api.call("GET", "/api/me", token))["email"] == email  # the token works

    with pytest.raises(api.ApiError) as refused:
        await api.call("GET", "/api/me")  # no token: before the fix, answered as the admin
    assert refused.value.status == 401 and refused.value.unauthenticated
    with pytest.raises(api.ApiError) as refused:
        await api.call("POST", "/api/auth/tokens", json={"name": "stolen"})
    assert refused.value.status == 401
    tokens = await api.call("GET", "/api/auth/tokens", token)
    assert [t for t in tokens if t["name"] == "stolen"] == []


async def test_the_client_keeps_no_cookie_and_sends_none(
    stack: Stack, portal_api: ModuleType
) -> None:
    api = portal_api
    email, _ = await _sign_in(api, stack, "clinician")
    client = api.client()
    assert len(client.cookies.jar) == 0, "the API's session cookie was stored"
    client.cookies.set("medsegtext_session", "planted")  # even a cookie set by hand
    assert len(client.cookies.jar) == 0
    response = await api.send(
        "POST", "/api/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert "cookie" not in response.request.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/me"),
        ("GET", "/api/cases"),
        ("POST", "/api/auth/logout"),
        ("GET", "/api/health"),
        ("POST", "/api/auth/login/../tokens"),
    ],
)
async def test_only_sign_in_is_sent_without_a_token(
    stack: Stack, portal_api: ModuleType, method: str, path: str
) -> None:
    """Refused by the portal itself, before any request goes out (even where the API would
    answer an anonymous caller, as /api/health does)."""
    api = portal_api
    sent: list[str] = []

    async def record(request: object) -> None:
        sent.append(str(getattr(request, "url", "")))

    api.client().event_hooks["request"].append(record)
    with pytest.raises(api.ApiError) as refused:
        await api.call(method, path)
    assert refused.value.status == 401
    assert sent == []
