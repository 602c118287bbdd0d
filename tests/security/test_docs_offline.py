"""The public API docs page loads only its own scripts and styles.

What the probe found: the Swagger page pulled its script from a CDN without Subresource
Integrity, so whoever controlled that CDN (or the path to it) ran script on the API's origin;
and the page did not work without internet access. Now the Swagger UI files ship in a Python
package (swagger-ui-bundle-v2) and are served by the API, and the docs pages' CSP allows 'self'.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from backend.settings import Settings
from tests.backend.backend_testkit import Stack
from tests.faults.helpers import ApiServer

DOCS_PAGES = ["/api/schema", "/api/schema/swagger"]


class Assets(HTMLParser):
    """Every script and stylesheet a page loads, and any inline script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(("script", a["src"] or ""))
        elif tag == "link" and a.get("href"):
            self.urls.append((a.get("rel") or "link", a["href"] or ""))
        elif tag in ("script", "style"):
            self._in = tag
        if any(name.startswith("on") or name == "style" for name in a):
            self.inline.append(f"<{tag} {a}>")

    def handle_data(self, data: str) -> None:
        if self._in and data.strip():
            self.inline.append(f"<{self._in}>{data.strip()[:80]}")

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def _csp(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for directive in filter(None, (d.strip() for d in header.split(";"))):
        name, *values = directive.split()
        out[name] = values
    return out


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_docs_page_loads_only_same_origin_assets(stack: Stack, page: str) -> None:
    r = await stack.client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    parsed = Assets()
    parsed.feed(r.text)
    scripts = [url for kind, url in parsed.urls if kind == "script"]
    assert scripts, "the page loads no script: Swagger UI cannot run"
    for kind, url in parsed.urls:
        assert url.startswith("/") and not url.startswith("//"), (kind, url)
    assert parsed.inline == []  # the CSP below allows no inline script or style
    assert "cdn" not in r.text.lower() and "https://" not in r.text

    policy = _csp(r.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    for values in policy.values():
        assert not any(v.startswith(("http", "'unsafe")) or v == "*" for v in values), policy


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_docs_assets_are_served_by_the_api(stack: Stack, page: str) -> None:
    parsed = Assets()
    parsed.feed((await stack.client.get(page)).text)
    kinds = {"script": "javascript", "stylesheet": "text/css", "icon": "image/png"}
    for kind, url in parsed.urls:
        asset = await stack.client.get(url)
        assert asset.status_code == 200, url
        assert kinds[kind] in asset.headers["content-type"], (url, asset.headers)
        assert len(asset.content) > 100, url
    bundle = next(url for kind, url in parsed.urls if url.endswith("swagger-ui-bundle.js"))
    assert "SwaggerUIBundle" in (await stack.client.get(bundle)).text


async def test_docs_start_from_the_served_schema(stack: Stack) -> None:
    """The page's own start script loads the schema the API serves (not an inlined copy)."""
    parsed = Assets()
    parsed.feed((await stack.client.get("/api/schema")).text)
    own = [url for kind, url in parsed.urls if kind == "script" and "swagger-ui" not in url]
    assert len(own) == 1 and own[0].startswith("/api/schema/assets/")
    text = (await stack.client.get(own[0])).text
    assert '"../openapi.json"' in text and "SwaggerUIBundle(" in text  # /api/schema/openapi.json


async def test_unknown_asset_is_404(stack: Stack) -> None:
    for name in ("nope.js", "..%2F..%2Fsettings.py", "swagger-ui-bundle.js.map"):
        r = await stack.client.get(f"/api/schema/assets/{name}")
        assert r.status_code == 404, name


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
def test_docs_page_runs_offline_in_a_browser(settings: Settings) -> None:
    """Debian's Chromium opens the docs with every request off this origin aborted (offline):
    Swagger UI renders the operations, and the CSP reports no violation."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make test-tools)")
    from playwright.sync_api import sync_playwright

    server = ApiServer(settings).start()
    outside: list[str] = []
    problems: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()

            def only_this_origin(route: Any) -> None:
                if route.request.url.startswith(server.url):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_this_origin)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{server.url}/api/schema")
            page.wait_for_selector(".opblock", timeout=30_000)
            operations = page.locator(".opblock").count()
            browser.close()
    finally:
        server.stop()
    assert operations > 30
    assert outside == [] and problems == []
