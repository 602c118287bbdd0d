"""The MedSegText portal app: the pages of the route table (portal/routes.py, each page module
registered by its @page decorator: portal/page.py), the /media routes, and the guard (security
headers, the browser cookie, the /_upload gate) around the whole backend."""

from __future__ import annotations

import reflex as rx

import portal.pages  # noqa: F401  (importing the page modules registers their pages)
from portal import guard, media
from portal.components.viewer import viewer_script
from portal.page import add_pages

app = rx.App(
    stylesheets=["/styles.css"],
    # media.routes() mounts the Reflex backend under the /media routes; PortalGuard wraps both
    api_transformer=[media.routes(), guard.PortalGuard],
    head_components=[
        rx.el.meta(name="robots", content="noindex"),
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        viewer_script(),
    ],
)
# leftover export files of an earlier run, then expired links and their files
app.register_lifespan_task(media.housekeeping)
add_pages(app)
