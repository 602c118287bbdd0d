"""Reflex configuration for the MedSegText portal. Run it with ./run.sh (see README.md)."""

import os
from urllib.parse import urlsplit

import reflex as rx


def portal_origins() -> list[str]:
    """The origins the portal's pages are served from: the only ones allowed to call its backend
    with credentials (CORS) or open its websocket (Socket.IO's Origin check).
    MEDSEGTEXT_PORTAL_ORIGINS (comma-separated) names them behind a proxy or another host name;
    by default the page's own port on localhost and 127.0.0.1, and REFLEX_DEPLOY_URL's origin."""
    raw = os.environ.get("MEDSEGTEXT_PORTAL_ORIGINS", "").strip()
    if raw:
        return [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]
    port = os.environ.get("MEDSEGTEXT_PORTAL_PORT", "3000").strip() or "3000"
    origins = [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
    deploy = urlsplit(os.environ.get("REFLEX_DEPLOY_URL", ""))
    if deploy.scheme in ("http", "https") and deploy.netloc:
        origin = f"{deploy.scheme}://{deploy.netloc}"
        if origin not in origins:
            origins.append(origin)
    return origins


config = rx.Config(
    app_name="portal",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Sessions (and the API token each one holds) live in this process's memory only: nothing
    # is written to disk, and a restart signs everyone out. Without REFLEX_REDIS_URL Reflex runs
    # one backend worker, which the media links and browser bindings (portal/media.py,
    # portal/browser_session.py) rely on.
    state_manager_mode=rx.constants.StateManagerMode.MEMORY,
    # Not "*": Reflex's CORS then reflected any Origin with credentials.
    cors_allowed_origins=portal_origins(),
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="teal", radius="medium")
        )
    ],
)
