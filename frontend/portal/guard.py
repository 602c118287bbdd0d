"""ASGI middleware around the whole portal backend (rx.App(api_transformer=...)).

- Every HTTP answer gets the security headers: CSP (portal/csp.py), frame-ancestors and
  X-Frame-Options, Referrer-Policy no-referrer, nosniff, and Cross-Origin-Resource-Policy
  same-origin (another site, or another port of this host, cannot embed a case image).
- A page load by a browser without one gets the portal's HttpOnly, SameSite=Strict browser
  cookie (portal/browser_session.py).
- Sign-in ends with a navigation to browser_session.ROTATE_PATH: for the browser that signed in
  (its one-time code and its cookie) the answer sets a new cookie value bound to the new session
  and redirects (303) to the page the tab asked for. Reflex cannot set HttpOnly cookies from an
  event, and a value planted before sign-in must not open the session.
- Reflex's /_upload reads the whole multipart body before any event handler runs. Here it is
  refused before one byte of the body is read unless the request carries the browser cookie and
  the Reflex client token of one live signed-in tab, and it is capped at MAX_UPLOAD_BYTES: by
  Content-Length up front, and by counting when the body comes chunked. The files it would
  serve back (GET /_upload/...) are not used by the portal and are refused.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal import api, browser_session, csp, media, return_path

MIB = 2**20
UPLOAD_PATH = "/_upload"


def max_upload_bytes() -> int:
    """The largest /_upload body: MEDSEGTEXT_PORTAL_MAX_UPLOAD_BYTES, else the API's file limit
    (MEDSEGTEXT_MAX_UPLOAD_BYTES, 64 MiB by default) plus 1 MiB of multipart overhead."""
    for name, extra in (
        ("MEDSEGTEXT_PORTAL_MAX_UPLOAD_BYTES", 0),
        ("MEDSEGTEXT_MAX_UPLOAD_BYTES", MIB),
    ):
        raw = os.environ.get(name, "").strip()
        if raw:
            if not raw.isdigit() or int(raw) < 1:
                raise ValueError(f"{name} must be a positive whole number of bytes, not {raw!r}")
            return int(raw) + extra
    return 64 * MIB + MIB


MAX_UPLOAD_BYTES = max_upload_bytes()
STATIC_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_FETCH_SITES = (None, "same-origin", "none")
_NO_STORE = {"Cache-Control": "no-store"}
# Behind a TLS proxy the request reaches the portal as http: the public URL says https.
_PUBLIC_HTTPS = os.environ.get("REFLEX_DEPLOY_URL", "").startswith("https://")


def _text(message: str, status: int) -> Response:
    return Response(message, status_code=status, media_type="text/plain", headers=_NO_STORE)


def _cookie(secret: str, scope: Scope) -> str:
    """The Set-Cookie value of the browser cookie (Secure when the public URL is https)."""
    secure = "; Secure" if _PUBLIC_HTTPS or scope.get("scheme") == "https" else ""
    return f"{browser_session.COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict{secure}"


async def finish_sign_in(scope: Scope, headers: Headers) -> Response:
    """GET ROTATE_PATH?code=...: the browser that signed in gets a new cookie value bound to its
    session and goes on to the page it asked for; anything else goes to the sign-in page."""
    if scope["method"] != "GET":
        return _text("Not found.", 404)
    if headers.get("sec-fetch-site") not in (None, "same-origin"):
        return _text("Sign-in finishes only from the portal's own pages.", 403)
    codes = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("code") or [""]
    done = browser_session.rotate(codes[0], headers.get("cookie"))
    if done is None:
        return RedirectResponse(return_path.LOGIN, status_code=303, headers=_NO_STORE)
    secret, target, replaced = done
    if replaced is not None:  # the browser's earlier session: one session per browser
        media.revoke_token(replaced)
        with contextlib.suppress(api.ApiError):
            await api.call("POST", "/api/auth/logout", replaced)
    answer = RedirectResponse(return_path.safe(target), status_code=303, headers=_NO_STORE)
    answer.headers.append("Set-Cookie", _cookie(secret, scope))
    return answer


def upload_refusal(scope: Scope, headers: Headers) -> Response | None:
    """Why this /_upload request is refused before its body is read, if it is."""
    if scope["method"] != "POST":
        return _text("Not found.", 404)
    if headers.get("sec-fetch-site") not in _FETCH_SITES:
        return _text("Uploads come only from the portal's own pages.", 403)
    if not browser_session.signed_in(headers.get("cookie"), headers.get("reflex-client-token")):
        return _text("Sign in to upload: this browser tab has no signed-in session.", 403)
    length = headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_UPLOAD_BYTES):
        return _text(
            f"The upload is larger than {MAX_UPLOAD_BYTES // MIB} MiB; send large "
            "files one at a time.",
            413,
        )
    return None


class PortalGuard:
    """See the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        send = self._with_headers(scope, headers, send)
        if path == UPLOAD_PATH or path.startswith(UPLOAD_PATH + "/"):
            refusal = upload_refusal(scope, headers)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            await self._capped(scope, receive, send)
            return
        if path == browser_session.ROTATE_PATH:
            answer = await finish_sign_in(scope, headers)
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _capped(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the upload, answering 413 and cutting the body off once it passes the cap."""
        seen = 0
        answered = False
        started = False

        async def counting_receive() -> Message:
            nonlocal seen, answered
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > MAX_UPLOAD_BYTES:
                    if not started and not answered:
                        answered = True
                        too_big = _text(
                            f"The upload is larger than {MAX_UPLOAD_BYTES // MIB} "
                            "MiB; send large files one at a time.",
                            413,
                        )
                        await too_big(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 went out; whatever the app says after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    @staticmethod
    def _with_headers(scope: Scope, request: Headers, send: Send) -> Send:
        needs_cookie = browser_session.secret_from(request.get("cookie")) is None

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in STATIC_HEADERS.items():
                    if name not in out:
                        out[name] = value
                out["Content-Security-Policy"] = csp.policy(request.get("host"))
                if needs_cookie and out.get("content-type", "").startswith("text/html"):
                    out.append("Set-Cookie", _cookie(browser_session.new_secret(), scope))
            await send(message)

        return send_with_headers
