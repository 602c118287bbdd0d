"""Download links: a real document download, never a route inside the single-page app.

`rx.el.a` and `rx.link` compile to React Router's Link, which handles a click on a same-origin
href itself and showed the app's 404 for a /media link. `reload_document` makes the click a
plain browser navigation; with `download` and the server's attachment header the browser saves
the file and the page stays where it is.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var

from portal.components.viewer import media_url


def download_link(label: Any, url: Var, id_: str, hint: str = "", **props: Any) -> rx.Component:
    """A link that downloads the /media/<link> path `url` (a state var) when clicked; `label`
    is text, a var, or a tuple of both."""
    parts = label if isinstance(label, tuple) else (label,)
    return rx.el.a(
        rx.hstack(
            rx.icon("download", size=14, aria_hidden="true"),
            rx.text(*parts, size="2"),
            align="center",
            spacing="1",
        ),
        href=media_url(url),
        download="",
        reload_document=True,
        id=id_,
        title=hint,
        class_name="download-link",
        **props,
    )
