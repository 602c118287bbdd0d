"""The one way the portal talks to the backend: httpx from server-side event handlers.

The bearer token is passed in by the caller (it lives in server-side state, never in the
browser). Every refusal becomes an ApiError carrying the backend's `detail` message.

One client serves every portal user, so it must never carry an identity of its own: it keeps
no cookies (the API sets a session cookie at sign-in, which would otherwise go out on every
later call), and it refuses any call to the API without a bearer token except the sign-in.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=5.0)
UNREACHABLE = "The MedSegText server cannot be reached; please retry shortly."
SIGN_IN_PATH = "/api/auth/login"
NOT_SIGNED_IN = "Please sign in."

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def api_url() -> str:
    return os.environ.get("MEDSEGTEXT_API_URL", DEFAULT_API_URL).rstrip("/")


class ApiError(Exception):
    """A refusal or failure, with a message for a person."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    @property
    def unauthenticated(self) -> bool:
        return self.status == 401


# Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them: with equal
# timeouts a request can go out on a connection the server is just closing ("Server
# disconnected without sending a response").
LIMITS = httpx.Limits(keepalive_expiry=2.0)


class NoCookies(CookieJar):
    """A cookie jar that stores nothing, whoever asks (httpx after a response, or code)."""

    def set_cookie(self, cookie: Cookie) -> None:
        return None


def _is_sign_in(request: httpx.Request, base: httpx.URL) -> bool:
    return request.method == "POST" and request.url.path == base.path.rstrip("/") + SIGN_IN_PATH


def _anonymous_guard(base: httpx.URL) -> Any:
    """A request hook: a request to the API without a bearer token (other than the sign-in)
    is refused before it is sent. Requests elsewhere (a redirect to a presigned S3 URL, which
    carries its own signature) are left alone; no request carries a Cookie header."""

    async def guard(request: httpx.Request) -> None:
        request.headers.pop("cookie", None)
        if (request.url.scheme, request.url.host, request.url.port) != (
            base.scheme,
            base.host,
            base.port,
        ):
            return
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if (scheme.lower() != "bearer" or not credentials.strip()) and not _is_sign_in(
            request, base
        ):
            raise ApiError(401, NOT_SIGNED_IN)

    return guard


def client() -> httpx.AsyncClient:
    """One pooled client per event loop, created on first use (never at import). It is shared
    by every portal user: it keeps no cookies and sends nothing to the API without a token
    (see _anonymous_guard)."""
    loop = asyncio.get_running_loop()
    c = _clients.get(loop)
    if c is None or c.is_closed:
        base = httpx.URL(api_url())
        c = httpx.AsyncClient(
            base_url=base,
            timeout=TIMEOUT,
            limits=LIMITS,
            cookies=NoCookies(),
            headers={"User-Agent": "medsegtext-portal"},
            event_hooks={"request": [_anonymous_guard(base)]},
        )
        _clients[loop] = c
    return c


def detail_of(response: httpx.Response) -> str:
    """The backend's message for a person, whatever shape the error body has."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str) and detail:
            return detail
        if isinstance(detail, list) and detail:
            return "; ".join(
                str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail
            )
    text = response.text.strip()
    if text and len(text) < 300 and not text.startswith("<"):
        return text
    return f"The server refused the request ({response.status_code} {response.reason_phrase})."


async def send(
    method: str,
    path: str,
    token: str | None = None,
    *,
    timeout: httpx.Timeout | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """A call as the holder of `token`; without one only the sign-in is sent, anything else
    is refused here with a 401 ApiError (the portal never calls the API as nobody)."""
    headers = dict(kwargs.pop("headers", {}) or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = await client().request(
            method, path, headers=headers, timeout=timeout or TIMEOUT, **kwargs
        )
    except httpx.TimeoutException:
        raise ApiError(0, "The MedSegText server did not answer in time; please retry.") from None
    except httpx.HTTPError:
        raise ApiError(0, UNREACHABLE) from None
    if response.status_code >= 400:
        raise ApiError(response.status_code, detail_of(response))
    return response


async def call(method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    """A JSON call: the decoded body, or None for an empty answer."""
    response = await send(method, path, token, **kwargs)
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ApiError(
            response.status_code, "The server sent an answer the portal cannot read."
        ) from None
