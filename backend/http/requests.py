"""Request ids, access logs and security headers.

Every API answer is marked not to be cached (they carry patient data or tokens); outside
development and test, Strict-Transport-Security tells browsers to use HTTPS only.

The id is always made here (a client could otherwise choose the id its audit rows carry), kept
in the ASGI scope so audit records and logs use the same value, and echoed on every response
(404s included, which is why headers are added by an app-level before_send hook rather than a
per-route middleware). A well-formed X-Request-ID from the client is only logged, as
``client_request_id``, so a caller can still find its request in the logs.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, BeforeMessageSendHookHandler, Message, Receive, Scope, Send

from backend.platform.logs import get_logger, request_id_var
from backend.settings import Settings

_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_STATE_KEY = "medsegtext_request_id"
_T0_KEY = "medsegtext_t0"
log = get_logger("access")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# API answers are data, never pages: nothing may load, run or frame them.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The interactive docs pages load Swagger UI, served by the API itself (backend.http.docs): they
# may load scripts, styles, images and the schema from this origin only, and nothing inline.
# (Images may also be data: URIs, which Swagger UI's stylesheet uses for its icons.)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
_DOCS_PREFIX = "/api/schema"
HSTS = "max-age=31536000; includeSubDomains"


def request_id(scope: Scope) -> str:
    """The request's id: a uuid made by the server on first use."""
    state: dict[str, Any] = scope.setdefault("state", {})
    rid = state.get(_STATE_KEY)
    if rid is None:
        rid = state[_STATE_KEY] = uuid.uuid4().hex
    return str(rid)


def client_request_id(scope: Scope) -> str | None:
    """The client's own X-Request-ID when well-formed: for the logs only, never an audit id."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given = value.decode("latin-1").strip()
            return given if _VALID_ID.match(given) else None
    return None


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Bind the request id to the logging context and note the start time."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        scope.setdefault("state", {})[_T0_KEY] = time.perf_counter()
        token = request_id_var.set(request_id(scope))
        try:
            await app(scope, receive, send)
        finally:
            request_id_var.reset(token)

    return middleware


def https_only(settings: Settings) -> bool:
    """Served over HTTPS only: outside development and test, or where cookie_secure says so.
    Then the session cookie is Secure and HSTS is sent."""
    return settings.cookie_secure or settings.environment not in ("development", "test")


def response_headers(https_only: bool) -> BeforeMessageSendHookHandler:
    """The before_send hook, with HSTS when the deployment is served over HTTPS only."""

    async def hook(message: Message, scope: Scope) -> None:
        if scope.get("type") == "http" and message["type"] == "http.response.start":
            if https_only:
                MutableScopeHeaders.from_message(message).setdefault(
                    "Strict-Transport-Security", HSTS
                )
            await add_response_headers(message, scope)

    return hook


async def add_response_headers(message: Message, scope: Scope) -> None:
    """Request id, security headers, no caching, and one access log line per response."""
    if scope.get("type") != "http" or message["type"] != "http.response.start":
        return
    rid = request_id(scope)
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Request-ID"] = rid
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    path = str(scope.get("path", ""))
    docs_page = path.startswith(_DOCS_PREFIX) and not path.endswith(".json")
    headers.setdefault("Content-Security-Policy", DOCS_CSP if docs_page else API_CSP)
    if not path.startswith(_DOCS_PREFIX):
        headers.setdefault("Cache-Control", "no-store")
    t0 = scope.get("state", {}).get(_T0_KEY)
    user = scope.get("user")
    log.info(
        "request",
        extra={
            "request_id": rid,
            "method": scope.get("method"),
            "path": path,
            "status": message["status"],
            "duration_ms": round((time.perf_counter() - t0) * 1000, 1) if t0 else None,
            "user_id": getattr(user, "id", None),
            "client_request_id": client_request_id(scope),
        },
    )
