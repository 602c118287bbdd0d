"""Case images and downloads reach the browser through this server, never with the API token.

Two steps, so that nothing a page holds works outside the browser that signed in:

- a *link* (``/media/<link>``) is what a page holds: a random id naming one backend resource for
  one sign-in (its API token stays here). It lives at most LINK_TTL and ends at sign-out. Opening
  it needs the HttpOnly cookie of the browser that signed in (portal/browser_session.py); it then
  mints a ticket and redirects there (303), so a link clicked long after the page loaded still
  works, but a copied link does nothing elsewhere;
- a *ticket* (``/media/t/<ticket>``) is one-time and lives TICKET_TTL (<= 60 s). Using it needs
  the same cookie, and re-checks the user's rights with the backend every time: images, reports
  and the audit log are fetched with the session's token; a dataset export (a file this portal
  holds) is served only after GET /api/me says the user is still an active admin.

Everything here is PHI or may be: every answer says ``Cache-Control: no-store``. Links and
tickets live in this process's memory only (the portal runs one worker, see rxconfig.py).

Link kinds:
- images (KINDS): a case's image, mask, overlay, preview or (worklist) thumbnail, shown
  inline;
- reports (REPORT_KINDS): a case's report.pdf, report.fhir.json, seg.dcm, sr.dcm, sent as
  attachments with the backend's file name;
- audit.csv: the audit log export with the filters fixed when the link was issued;
- file: bytes the portal already fetched (a dataset export), kept in a temporary file that is
  deleted when its link expires, at sign-out, and (leftovers of an earlier run) at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from portal import api, browser_session


def _seconds(name: str, default: int, most: int) -> int:
    """A lifetime from the environment, within 1..most seconds."""
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number of seconds, not {raw!r}") from None
    if not 1 <= value <= most:
        raise ValueError(f"{name} must be from 1 to {most} seconds, not {value}")
    return value


TICKET_TTL = _seconds("MEDSEGTEXT_PORTAL_TICKET_TTL", 60, 60)
LINK_TTL = _seconds("MEDSEGTEXT_PORTAL_LINK_TTL", 30 * 60, 24 * 3600)
MAX_LINKS = 10_000
KINDS = ("image", "mask", "overlay", "preview", "thumbnail")
REPORT_KINDS = {  # kind -> (content type if the backend names none, file suffix)
    "report.pdf": ("application/pdf", ".pdf"),
    "report.fhir.json": ("application/fhir+json", ".fhir.json"),
    "seg.dcm": ("application/dicom", "-seg.dcm"),
    "sr.dcm": ("application/dicom", "-sr.dcm"),
}
AUDIT_CSV = "audit.csv"
FILE = "file"
ROUTE_PREFIX = "/media/"
TICKET_PREFIX = "/media/t/"
EXPORT_PREFIX = "medsegtext-export-"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "X-Content-Type-Options": "nosniff"}
EXPIRED = "This link has expired; reload the page."
NOT_YOURS = (
    "This link belongs to another browser session: open it from the portal page of "
    "the browser you signed in with."
)
_FILENAME = re.compile(r'filename="?([^";]+)"?')
# A browser's own page (same-origin), or a typed address / bookmark (none); never another site
# or another port of this host (same-site), which could make a signed-in browser fetch a link.
_FETCH_SITES = (None, "same-origin", "none")


@dataclass(frozen=True)
class Ticket:
    """What a link (and the tickets minted from it) names, for whom."""

    token: str
    case_id: str
    kind: str
    expires: float
    params: tuple[tuple[str, str], ...] = ()  # query of an audit.csv export
    path: str = ""  # a FILE link's temporary file
    media_type: str = ""
    filename: str = ""


_links: dict[str, Ticket] = {}
_tickets: dict[str, tuple[str, float]] = {}  # ticket -> (its link, expiry)


def _drop(key: str) -> None:
    t = _links.pop(key, None)
    if t is not None and t.kind == FILE and t.path:
        with contextlib.suppress(OSError):
            os.unlink(t.path)


def prune(now: float | None = None) -> None:
    """Forget expired links (deleting their files) and tickets."""
    now = time.monotonic() if now is None else now
    for key in [k for k, t in _links.items() if t.expires <= now]:
        _drop(key)
    for key in [k for k, (_, exp) in _tickets.items() if exp <= now]:
        _tickets.pop(key, None)
    while len(_links) >= MAX_LINKS:  # oldest first (dicts keep insertion order)
        _drop(next(iter(_links)))


def _add(ticket: Ticket) -> str:
    prune()
    key = secrets.token_urlsafe(24)
    _links[key] = ticket
    return f"{ROUTE_PREFIX}{key}"


def issue(token: str, case_id: str, kind: str) -> str:
    """A relative URL the browser can load for this session's view of one case artifact or
    report (kinds: KINDS and REPORT_KINDS)."""
    if kind not in KINDS and kind not in REPORT_KINDS:
        raise ValueError(kind)
    return _add(Ticket(token, case_id, kind, time.monotonic() + LINK_TTL))


def issue_audit_csv(token: str, params: dict[str, Any]) -> str:
    """A URL for GET /api/admin/audit.csv with these filters (values already validated)."""
    query = tuple(sorted((str(k), str(v)) for k, v in params.items() if v not in (None, "")))
    return _add(Ticket(token, "", AUDIT_CSV, time.monotonic() + LINK_TTL, params=query))


def issue_file(token: str, path: str, media_type: str, filename: str) -> str:
    """A URL for a temporary file this portal wrote (deleted when the link goes)."""
    return _add(
        Ticket(
            token,
            "",
            FILE,
            time.monotonic() + LINK_TTL,
            path=path,
            media_type=media_type,
            filename=filename,
        )
    )


def export_file() -> tuple[int, str]:
    """A new temporary file for a dataset export (mkstemp: 0600), named with this process's id
    so that a later start can tell its own leftovers from another portal's live files."""
    return tempfile.mkstemp(prefix=f"{EXPORT_PREFIX}{os.getpid()}-", suffix=".zip")


def valid(path: str, token: str, case_id: str, kind: str) -> bool:
    """Whether a URL from issue() still names this artifact for this session (for a while)."""
    t = _links.get(path.removeprefix(ROUTE_PREFIX)) if path.startswith(ROUTE_PREFIX) else None
    return (
        t is not None
        and t.token == token
        and t.case_id == case_id
        and t.kind == kind
        and t.expires - time.monotonic() > LINK_TTL / 3
    )


def revoke_token(token: str) -> None:
    """Drop every link, ticket and export file of a session, and its browser binding
    (sign-out, or a session the backend ended)."""
    for key in [k for k, t in _links.items() if t.token == token]:
        _drop(key)
    for key in [k for k, (link, _) in _tickets.items() if link not in _links]:
        _tickets.pop(key, None)
    browser_session.forget(token)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_leftovers(folder: str | None = None) -> list[str]:
    """Delete export files that no running portal owns (an earlier run's, killed or crashed).
    Returns the paths removed."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{EXPORT_PREFIX}*.zip"):
        pid = path.name.removeprefix(EXPORT_PREFIX).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue  # another portal's, still running
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(str(path))
    return removed


async def housekeeping() -> None:
    """Lifespan task: remove an earlier run's export files, then expire links and their files
    every few seconds even when nobody issues new ones."""
    sweep_leftovers()
    while True:
        await asyncio.sleep(min(15, TICKET_TTL))
        prune()


def _attachment(upstream_disposition: str | None, fallback: str) -> str:
    m = _FILENAME.search(upstream_disposition or "")
    name = m.group(1) if m else fallback
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "download"
    return f'attachment; filename="{name}"'


def _text(message: str, status: int) -> Response:
    return Response(message, status_code=status, media_type="text/plain", headers=NO_STORE)


def _refused(e: api.ApiError) -> Response:
    return _text(e.detail, e.status if 400 <= e.status < 600 else 502)


def _browser_refusal(request: Request, token: str) -> Response | None:
    """403 unless the request comes from the page of the browser this sign-in is bound to."""
    if request.headers.get("sec-fetch-site") not in _FETCH_SITES:
        return _text("Links open only from the portal's own pages.", 403)
    if not browser_session.bound(token, request.headers.get("cookie")):
        return _text(NOT_YOURS, 403)
    return None


async def _image(ticket: Ticket) -> Response:
    try:
        upstream = await api.send(
            "GET", f"/api/cases/{ticket.case_id}/{ticket.kind}", ticket.token, follow_redirects=True
        )
    except api.ApiError as e:
        return _refused(e)
    return Response(
        upstream.content,
        media_type=upstream.headers.get("content-type", "application/octet-stream"),
        headers=NO_STORE,
    )


async def _stream(
    ticket: Ticket, path: str, params: dict[str, str], default_type: str, fallback_name: str
) -> Response:
    """Stream a backend download to the browser as an attachment, never holding it whole."""
    client = api.client()
    request = client.build_request(
        "GET",
        path,
        params=params,
        headers={"Authorization": f"Bearer {ticket.token}"},
        timeout=api.UPLOAD_TIMEOUT,
    )
    try:
        upstream = await client.send(request, stream=True, follow_redirects=True)
    except api.ApiError as e:  # the client's own refusal (a call without a token)
        return _refused(e)
    except httpx.HTTPError:
        return _text(api.UNREACHABLE, 502)
    if upstream.status_code >= 400:
        await upstream.aread()
        await upstream.aclose()
        return _refused(api.ApiError(upstream.status_code, api.detail_of(upstream)))
    media_type = upstream.headers.get("content-type", default_type)
    headers = {
        "Content-Disposition": _attachment(
            upstream.headers.get("content-disposition"), fallback_name
        ),
        **NO_STORE,
    }
    if "content-length" in upstream.headers:
        headers["Content-Length"] = upstream.headers["content-length"]
    return StreamingResponse(
        upstream.aiter_raw(),
        media_type=media_type,
        headers=headers,
        background=BackgroundTask(upstream.aclose),
    )


async def _still_admin(token: str) -> Response | None:
    """A dataset export is a file held here: ask the backend whether its admin still is one."""
    try:
        me = await api.call("GET", "/api/me", token)
    except api.ApiError as e:
        return _refused(e)
    if not isinstance(me, dict) or me.get("role") != "admin" or me.get("is_active") is False:
        return _text("Only an active admin can download this export.", 403)
    return None


async def open_link(request: Request) -> Response:
    """GET /media/<link>: for the browser that signed in, a one-time ticket (303)."""
    now = time.monotonic()
    key = request.path_params["link"]
    link = _links.get(key)
    if link is None or link.expires <= now:
        return _text(EXPIRED, 404)
    if (refusal := _browser_refusal(request, link.token)) is not None:
        return refusal
    ticket = secrets.token_urlsafe(24)
    _tickets[ticket] = (key, now + TICKET_TTL)
    return RedirectResponse(f"{TICKET_PREFIX}{ticket}", status_code=303, headers=NO_STORE)


async def serve(request: Request) -> Response:
    """GET /media/t/<ticket>: the bytes, once, after the browser and the rights are checked."""
    key, expires = _tickets.pop(request.path_params["ticket"], ("", 0.0))
    ticket = _links.get(key)
    if ticket is None or expires <= time.monotonic():
        return _text(EXPIRED, 404)
    if (refusal := _browser_refusal(request, ticket.token)) is not None:
        return refusal
    if ticket.kind in KINDS:
        return await _image(ticket)
    if ticket.kind in REPORT_KINDS:
        default_type, suffix = REPORT_KINDS[ticket.kind]
        return await _stream(
            ticket,
            f"/api/cases/{ticket.case_id}/{ticket.kind}",
            {},
            default_type,
            f"medsegtext-{ticket.case_id}{suffix}",
        )
    if ticket.kind == AUDIT_CSV:
        return await _stream(
            ticket, "/api/admin/audit.csv", dict(ticket.params), "text/csv", "audit.csv"
        )
    if ticket.kind == FILE and ticket.path and os.path.exists(ticket.path):
        if (refusal := await _still_admin(ticket.token)) is not None:
            return refusal
        return FileResponse(
            ticket.path,
            media_type=ticket.media_type,
            filename=ticket.filename,
            content_disposition_type="attachment",
            headers=NO_STORE,
        )
    return _text(EXPIRED, 404)


def routes() -> Starlette:
    """Mounted in front of the Reflex app (rx.App(api_transformer=...))."""
    return Starlette(
        routes=[
            Route(TICKET_PREFIX + "{ticket:str}", serve, methods=["GET"]),
            Route(ROUTE_PREFIX + "{link:str}", open_link, methods=["GET"]),
        ]
    )
