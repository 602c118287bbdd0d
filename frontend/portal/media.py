"""Case images reach the browser through this server, never with the API token.

A signed-in session asks for a ticket (a random, unguessable id) bound to its token, a case and
an artifact; the browser loads /media/<ticket>; this route fetches the bytes from the backend with
the session's token and returns them. Tickets live in this process's memory only (the portal runs
one worker, see rxconfig.py) and expire after TICKET_TTL seconds.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal import api

TICKET_TTL = 30 * 60
MAX_TICKETS = 10_000
KINDS = ("image", "mask", "overlay", "preview")
ROUTE_PREFIX = "/media/"


@dataclass(frozen=True)
class Ticket:
    token: str
    case_id: str
    kind: str
    expires: float


_tickets: dict[str, Ticket] = {}


def _prune(now: float) -> None:
    for key in [k for k, t in _tickets.items() if t.expires <= now]:
        del _tickets[key]
    while len(_tickets) >= MAX_TICKETS:  # oldest first (dicts keep insertion order)
        del _tickets[next(iter(_tickets))]


def issue(token: str, case_id: str, kind: str) -> str:
    """A relative URL the browser can load for this session's view of one artifact."""
    if kind not in KINDS:
        raise ValueError(kind)
    now = time.monotonic()
    _prune(now)
    key = secrets.token_urlsafe(24)
    _tickets[key] = Ticket(token, case_id, kind, now + TICKET_TTL)
    return f"{ROUTE_PREFIX}{key}"


def valid(path: str, token: str, case_id: str, kind: str) -> bool:
    """Whether a URL from issue() still names this artifact for this session (for a while)."""
    t = _tickets.get(path.removeprefix(ROUTE_PREFIX)) if path.startswith(ROUTE_PREFIX) else None
    return (t is not None and t.token == token and t.case_id == case_id and t.kind == kind
            and t.expires - time.monotonic() > TICKET_TTL / 3)


def revoke_token(token: str) -> None:
    """Drop every ticket of a session (sign-out)."""
    for key in [k for k, t in _tickets.items() if t.token == token]:
        del _tickets[key]


async def serve(request: Request) -> Response:
    ticket = _tickets.get(request.path_params["ticket"])
    if ticket is None or ticket.expires <= time.monotonic():
        return Response("This image link has expired; reload the case.", status_code=404,
                        media_type="text/plain")
    try:
        upstream = await api.send("GET", f"/api/cases/{ticket.case_id}/{ticket.kind}",
                                  ticket.token, follow_redirects=True)
    except api.ApiError as e:
        status = e.status if 400 <= e.status < 600 else 502
        return Response(e.detail, status_code=status, media_type="text/plain")
    return Response(upstream.content,
                    media_type=upstream.headers.get("content-type", "application/octet-stream"),
                    # A ticket always names the same bytes: let this browser keep them.
                    headers={"Cache-Control": f"private, max-age={TICKET_TTL}",
                             "X-Content-Type-Options": "nosniff"})


def routes() -> Starlette:
    """Mounted in front of the Reflex app (rx.App(api_transformer=...))."""
    return Starlette(routes=[Route(ROUTE_PREFIX + "{ticket:str}", serve, methods=["GET"])])
