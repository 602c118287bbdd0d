"""The interactive API docs (Swagger UI) served entirely by the API itself.

Litestar's Swagger page loads Swagger UI from a CDN, without Subresource Integrity, and starts
it with an inline script: whoever controls the CDN runs script on the API's origin, and the
page is blank offline. Here the Swagger UI files come from the swagger-ui-bundle-v2 package and
are served under /api/schema/assets/, the page starts Swagger UI from a script of our own that
loads /api/schema/openapi.json, and nothing is inline, so the docs pages' CSP
(backend.http.requests.DOCS_CSP) can be 'self' only.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath
from litestar.router import Router
from swagger_ui_bundle import swagger_ui_path

ASSETS_PATH = "/assets"
START_SCRIPT = """\
// Starts Swagger UI on the schema this API serves (no inline script: the CSP forbids it).
(function () {
  var schema = new URL("../openapi.json", document.currentScript.src).href;
  window.addEventListener("load", function () {
    window.ui = SwaggerUIBundle({
      url: schema,
      dom_id: "#swagger-ui",
      deepLinking: true,
      showExtensions: true,
      showCommonExtensions: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
    });
  });
})();
"""
# name -> (file under the package's Swagger UI folder, or None for ours; media type)
ASSETS: dict[str, tuple[str | None, str]] = {
    "swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui.css", "text/css"),
    "index.css": ("index.css", "text/css"),
    "favicon-32x32.png": ("favicon-32x32.png", "image/png"),
    "start.js": (None, "text/javascript"),
}


@cache
def asset_bytes(name: str) -> bytes:
    source, _ = ASSETS[name]
    if source is None:
        return START_SCRIPT.encode()
    return (Path(str(swagger_ui_path)) / source).read_bytes()


@get(
    f"{ASSETS_PATH}/{{asset:str}}", name="docs_asset", include_in_schema=False, sync_to_thread=False
)
def docs_asset(asset: FromPath[str]) -> Response[bytes]:
    """One file of the docs page (a fixed list; anything else is 404)."""
    if asset not in ASSETS:
        raise NotFoundException("No such docs asset.")
    return Response(
        asset_bytes(asset),
        media_type=ASSETS[asset][1],
        headers={"Cache-Control": "public, max-age=86400"},
    )


class SelfHostedSwagger(SwaggerRenderPlugin):
    """Swagger UI from this API's own files, started by an external script."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(favicon="", style="", **kwargs)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        base = request.app.route_reverse("docs_asset", asset="x").rsplit("/", 1)[0]
        title = html.escape(str(openapi_schema["info"]["title"]))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{base}/favicon-32x32.png">
<link rel="stylesheet" href="{base}/swagger-ui.css">
<link rel="stylesheet" href="{base}/index.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/start.js"></script>
</body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        """The assets instead of Swagger's OAuth2 redirect page (this API has no OAuth2 flow,
        and that page is an inline script)."""
        router.register(docs_asset)
