"""The page decorator (after the `@template` decorator of Reflex's dashboard template):
`@page(routes.X, XState)` makes the function the page at that route of the route table
(portal/routes.py), with the route's title, loaded by the state's `load`.

Who may open the page is the route's permission. The decorator checks that the state serves
that route, so its handlers, `load` first, admit only those users: a tab that is not signed in
is sent to /login, a user without the permission to the worklist (portal/state/auth.py).
portal.py adds every decorated page to the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx

from portal.routes import ROUTES, Route
from portal.state.auth import AuthState

PageFn = Callable[[], rx.Component]


@dataclass(frozen=True)
class Page:
    route: Route
    component: PageFn
    on_load: Any  # the state's event handler


PAGES: list[Page] = []


def page(route: Route, state: type[AuthState], on_load: Any = None) -> Callable[[PageFn], PageFn]:
    """Declare the decorated function the page at `route`, which admits the route's
    permission; `state` (whose handlers enforce it) must serve the route, unless the route is
    public (the sign-in page). `on_load` defaults to `state.load`."""
    if not route.public and state.route is not route:
        raise TypeError(f"{state.__name__} serves {state.route}, not the page at {route.path}")

    def register(fn: PageFn) -> PageFn:
        if any(p.route == route for p in PAGES):
            raise ValueError(f"two pages at {route.path}")
        handler = on_load if on_load is not None else state.event_handlers["load"]
        PAGES.append(Page(route, fn, handler))
        return fn

    return register


def add_pages(app: rx.App) -> None:
    """Add every decorated page to the app, in route-table order (portal.py, after importing
    the page modules); a route of the table without its page is an error."""
    found = {p.route: p for p in PAGES}
    if missing := [r.path for r in ROUTES if r not in found]:
        raise LookupError(f"no page for {', '.join(missing)}")
    for p in sorted(PAGES, key=lambda p: ROUTES.index(p.route)):
        app.add_page(p.component, route=p.route.path, title=p.route.tab_title, on_load=p.on_load)
