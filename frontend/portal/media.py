"""Case images and downloads reach the browser through this server, never with the API token.

A signed-in session asks for a ticket (a random, unguessable id) bound to its token and to one
backend resource; the browser loads /media/<ticket>; this route fetches the bytes from the
backend with the session's token and streams them back. Tickets live in this process's memory
only (the portal runs one worker, see rxconfig.py) and expire after TICKET_TTL seconds.

Kinds:
- images (KINDS): a case's image, mask, overlay or preview, shown inline and cached privately;
- reports (REPORT_KINDS): a case's report.pdf, report.fhir.json, seg.dcm, sr.dcm, sent as
  attachments with the backend's file name;
- audit.csv: the audit log export with the filters fixed when the ticket was issued;
- file: bytes the portal already fetched (a dataset export), served from a temporary file.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from portal import api

TICKET_TTL = 30 * 60
MAX_TICKETS = 10_000
KINDS = ("image", "mask", "overlay", "preview")
REPORT_KINDS = {  # kind -> (content type if the backend names none, file suffix)
    "report.pdf": ("application/pdf", ".pdf"),
    "report.fhir.json": ("application/fhir+json", ".fhir.json"),
    "seg.dcm": ("application/dicom", "-seg.dcm"),
    "sr.dcm": ("application/dicom", "-sr.dcm"),
}
AUDIT_CSV = "audit.csv"
FILE = "file"
ROUTE_PREFIX = "/media/"
_FILENAME = re.compile(r'filename="?([^";]+)"?')


@dataclass(frozen=True)
class Ticket:
    token: str
    case_id: str
    kind: str
    expires: float
    params: tuple[tuple[str, str], ...] = ()  # query of an audit.csv export
    path: str = ""  # a FILE ticket's temporary file
    media_type: str = ""
    filename: str = ""


_tickets: dict[str, Ticket] = {}


def _drop(key: str) -> None:
    t = _tickets.pop(key, None)
    if t is not None and t.kind == FILE and t.path:
        with contextlib.suppress(OSError):
            os.unlink(t.path)


def _prune(now: float) -> None:
    for key in [k for k, t in _tickets.items() if t.expires <= now]:
        _drop(key)
    while len(_tickets) >= MAX_TICKETS:  # oldest first (dicts keep insertion order)
        _drop(next(iter(_tickets)))


def _add(ticket: Ticket) -> str:
    _prune(time.monotonic())
    key = secrets.token_urlsafe(24)
    _tickets[key] = ticket
    return f"{ROUTE_PREFIX}{key}"


def issue(token: str, case_id: str, kind: str) -> str:
    """A relative URL the browser can load for this session's view of one case artifact or
    report (kinds: KINDS and REPORT_KINDS)."""
    if kind not in KINDS and kind not in REPORT_KINDS:
        raise ValueError(kind)
    return _add(Ticket(token, case_id, kind, time.monotonic() + TICKET_TTL))


def issue_audit_csv(token: str, params: dict[str, Any]) -> str:
    """A URL for GET /api/admin/audit.csv with these filters (values already validated)."""
    query = tuple(sorted((str(k), str(v)) for k, v in params.items() if v not in (None, "")))
    return _add(Ticket(token, "", AUDIT_CSV, time.monotonic() + TICKET_TTL, params=query))


def issue_file(token: str, path: str, media_type: str, filename: str) -> str:
    """A URL for a temporary file this portal wrote (deleted when the ticket goes)."""
    return _add(Ticket(token, "", FILE, time.monotonic() + TICKET_TTL, path=path,
                       media_type=media_type, filename=filename))


def valid(path: str, token: str, case_id: str, kind: str) -> bool:
    """Whether a URL from issue() still names this artifact for this session (for a while)."""
    t = _tickets.get(path.removeprefix(ROUTE_PREFIX)) if path.startswith(ROUTE_PREFIX) else None
    return (t is not None and t.token == token and t.case_id == case_id and t.kind == kind
            and t.expires - time.monotonic() > TICKET_TTL / 3)


def revoke_token(token: str) -> None:
    """Drop every ticket of a session (sign-out)."""
    for key in [k for k, t in _tickets.items() if t.token == token]:
        _drop(key)


def _attachment(upstream_disposition: str | None, fallback: str) -> str:
    m = _FILENAME.search(upstream_disposition or "")
    name = m.group(1) if m else fallback
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "download"
    return f'attachment; filename="{name}"'


def _refused(e: api.ApiError) -> Response:
    status = e.status if 400 <= e.status < 600 else 502
    return Response(e.detail, status_code=status, media_type="text/plain")


async def _image(ticket: Ticket) -> Response:
    try:
        upstream = await api.send("GET", f"/api/cases/{ticket.case_id}/{ticket.kind}",
                                  ticket.token, follow_redirects=True)
    except api.ApiError as e:
        return _refused(e)
    return Response(upstream.content,
                    media_type=upstream.headers.get("content-type", "application/octet-stream"),
                    # A ticket always names the same bytes: let this browser keep them.
                    headers={"Cache-Control": f"private, max-age={TICKET_TTL}",
                             "X-Content-Type-Options": "nosniff"})


async def _stream(ticket: Ticket, path: str, params: dict[str, str], default_type: str,
                  fallback_name: str) -> Response:
    """Stream a backend download to the browser as an attachment, never holding it whole."""
    client = api.client()
    request = client.build_request("GET", path, params=params, headers={
        "Authorization": f"Bearer {ticket.token}"}, timeout=api.UPLOAD_TIMEOUT)
    try:
        upstream = await client.send(request, stream=True, follow_redirects=True)
    except httpx.HTTPError:
        return Response(api.UNREACHABLE, status_code=502, media_type="text/plain")
    if upstream.status_code >= 400:
        await upstream.aread()
        await upstream.aclose()
        return _refused(api.ApiError(upstream.status_code, api.detail_of(upstream)))
    media_type = upstream.headers.get("content-type", default_type)
    headers = {"Content-Disposition": _attachment(upstream.headers.get("content-disposition"),
                                                  fallback_name),
               "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if "content-length" in upstream.headers:
        headers["Content-Length"] = upstream.headers["content-length"]
    return StreamingResponse(upstream.aiter_raw(), media_type=media_type, headers=headers,
                             background=BackgroundTask(upstream.aclose))


async def serve(request: Request) -> Response:
    ticket = _tickets.get(request.path_params["ticket"])
    if ticket is None or ticket.expires <= time.monotonic():
        return Response("This link has expired; reload the page.", status_code=404,
                        media_type="text/plain")
    if ticket.kind in KINDS:
        return await _image(ticket)
    if ticket.kind in REPORT_KINDS:
        default_type, suffix = REPORT_KINDS[ticket.kind]
        return await _stream(ticket, f"/api/cases/{ticket.case_id}/{ticket.kind}", {},
                             default_type, f"medsegtext-{ticket.case_id}{suffix}")
    if ticket.kind == AUDIT_CSV:
        return await _stream(ticket, "/api/admin/audit.csv", dict(ticket.params), "text/csv",
                             "audit.csv")
    if ticket.kind == FILE and ticket.path and os.path.exists(ticket.path):
        return FileResponse(ticket.path, media_type=ticket.media_type,
                            filename=ticket.filename, content_disposition_type="attachment",
                            headers={"Cache-Control": "private, no-store",
                                     "X-Content-Type-Options": "nosniff"})
    return Response("This link has expired; reload the page.", status_code=404,
                    media_type="text/plain")


def routes() -> Starlette:
    """Mounted in front of the Reflex app (rx.App(api_transformer=...))."""
    return Starlette(routes=[Route(ROUTE_PREFIX + "{ticket:str}", serve, methods=["GET"])])
