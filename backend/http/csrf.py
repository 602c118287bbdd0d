"""Cross-site request forgery: where a write may come from, and what a JSON endpoint accepts.

A browser sends the session cookie (SameSite=Lax) with requests from any page of the same
*site*, which includes every other port on the host. So a write (POST, PUT, PATCH, DELETE)
authenticated by that cookie must show it comes from the API's own origin or a configured one
(MEDSEGTEXT_CORS_ORIGINS): the browser's Sec-Fetch-Site is same-origin (or none: typed by the
user), or its Origin is one of those. Otherwise 403. Requests authenticated by an Authorization
header need no such proof: no page can make a browser send that header to another origin
without CORS allowing it.

Every caller's body for a JSON endpoint must be declared JSON (application/json or a +json
type), else 415: a "simple" text/plain POST is what a page can send cross-site without a CORS
preflight, so JSON endpoints never parse one.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from litestar.datastructures import Headers
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.accounts.tokens import SESSION_COOKIE
from backend.http.input_guard import body_encoding
from backend.settings import Settings

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsupportedMediaType(HTTPException):
    status_code = 415


def origin_key(origin: str) -> str | None:
    """scheme://host:port, lower-case with the default port made explicit; None if unusable."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or port is None:
        return None
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}:{port}"


def own_origin(scope: Scope, headers: Headers) -> str | None:
    """The origin this request was addressed to (scheme as the trusted proxy said, Host)."""
    host = headers.get("host")
    return origin_key(f"{scope.get('scheme', 'http')}://{host}") if host else None


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def has_body(headers: Headers) -> bool:
    if "content-type" in headers or "transfer-encoding" in headers:
        return True
    try:
        return int(headers.get("content-length") or 0) > 0
    except ValueError:
        return True


def by_cookie(scope: Scope, headers: Headers) -> bool:
    """Authenticated by the session cookie, as backend.http.auth.token_from decides: a bearer
    Authorization header wins over the cookie."""
    handler = scope.get("route_handler")
    if handler is None or handler.opt.get("exclude_from_auth"):
        return False
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return False
    cookie = f"{SESSION_COOKIE}="
    return any(
        part.strip().startswith(cookie) and part.strip() != cookie
        for line in headers.getall("cookie", [])
        for part in line.split(";")
    )


def check_json_type(scope: Scope, headers: Headers) -> None:
    if body_encoding(scope.get("route_handler")) != RequestEncodingType.JSON:
        return
    if has_body(headers) and not is_json(headers.get("content-type", "")):
        raise UnsupportedMediaType(
            "This endpoint takes a JSON body: send it with Content-Type: application/json."
        )


def check_origin(scope: Scope, headers: Headers, allowed: frozenset[str]) -> None:
    if headers.get("sec-fetch-site", "").lower() in TRUSTED_FETCH_SITES:
        return
    origin = origin_key(headers.get("origin", ""))
    if origin is not None and (origin in allowed or origin == own_origin(scope, headers)):
        return
    raise PermissionDeniedException(
        "Refused a cookie-authenticated write from another origin: the request must come from "
        "a page of this API's origin (Sec-Fetch-Site or Origin says so). API clients "
        "authenticate with Authorization: Bearer instead."
    )


def csrf_middleware(settings: Settings) -> Callable[[ASGIApp], ASGIApp]:
    allowed = frozenset(filter(None, (origin_key(o) for o in settings.cors_origins)))

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope.get("method") in UNSAFE:
                headers = Headers.from_scope(scope)
                check_json_type(scope, headers)
                if by_cookie(scope, headers):
                    check_origin(scope, headers, allowed)
            await app(scope, receive, send)

        return middleware

    return factory
