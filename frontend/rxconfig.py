"""Reflex configuration for the MedSegText portal. Run it with ./run.sh (see README.md)."""

import reflex as rx

config = rx.Config(
    app_name="portal",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Sessions (and the API token each one holds) live in this process's memory only: nothing
    # is written to disk, and a restart signs everyone out. Without REFLEX_REDIS_URL Reflex runs
    # one backend worker, which the image tickets (portal/media.py) rely on.
    state_manager_mode="memory",
    disable_plugins=[rx.plugins.SitemapPlugin],
    plugins=[rx.plugins.RadixThemesPlugin(
        theme=rx.theme(appearance="light", accent_color="teal", radius="medium"))],
)
