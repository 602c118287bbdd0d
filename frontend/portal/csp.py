"""The portal's Content-Security-Policy, fitted to what the built Reflex app needs.

The compiled pages (React Router) carry a few inline scripts of their own; instead of allowing
every inline script, the policy lists the sha256 of each one found in the build, so a script
injected into a page does not run. Reflex evaluates strings the server sends for
rx.call_script (utils/state.js uses eval), which the admin pages use to reset forms, hence
'unsafe-eval'. Radix and emotion add <style> elements at run time, hence inline styles. The
websocket goes back to the page's own host and port (connect-src 'self' and its ws/wss form).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def build_dir() -> Path:
    """Where the compiled frontend is served from (what reflex's frontend mount serves)."""
    from reflex.utils import prerequisites
    from reflex_base import constants

    return prerequisites.get_web_dir() / constants.Dirs.STATIC


_hashes: list[tuple[str, ...]] = []  # found once per process, after the build exists


def inline_script_hashes(folder: Path | None = None) -> tuple[str, ...]:
    """'sha256-…' of every inline script in the built pages."""
    if _hashes and folder is None:
        return _hashes[0]
    folder = folder or build_dir()
    found: set[str] = set()
    for page in sorted(folder.rglob("*.html")):
        for body in _INLINE_SCRIPT.findall(page.read_bytes()):
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            found.add(f"'sha256-{digest}'")
    if not found:
        log.warning("no built pages under %s yet: the CSP allows inline scripts", folder)
        return ()
    _hashes[:] = [tuple(sorted(found))]
    return _hashes[0]


def policy(host: str | None) -> str:
    """The CSP header for a response to a request with this Host header."""
    hashes = inline_script_hashes()
    scripts = " ".join(hashes) if hashes else "'unsafe-inline'"
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'unsafe-eval' {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
