"""Where sign-in sends a tab back to: a page of this portal, never another site.

A tab that is not signed in is sent to ``/login?next=<the page it was on>``, and sign-in ends
on that page. ``next`` comes from a URL anyone can make, so only a same-origin path is kept:
``//host``, ``/\\host`` (browsers read both as another host), any scheme (``https:``,
``javascript:``), control characters and white space give ``/``, and so do the sign-in page
and the portal's own routes (``/_...``, ``/media/...``).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

HOME = "/"
LOGIN = "/login"
MAX_LENGTH = 2048
_NOT_PAGES = ("/_", "/media/")


def safe(raw: str | None) -> str:
    """`raw` if it is a path of a portal page (with its query), else HOME."""
    if not raw or len(raw) > MAX_LENGTH or not raw.startswith("/") or raw.startswith("//"):
        return HOME
    if "\\" in raw or any(c.isspace() or not c.isprintable() for c in raw):
        return HOME
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return HOME
    path = parts.path.rstrip("/") or HOME
    if path == LOGIN or path.startswith(_NOT_PAGES):
        return HOME
    return raw


def login_path(path: str, query: str = "") -> str:
    """The sign-in page, with the page a tab was on as ``next`` unless that is HOME."""
    target = safe(f"{path}?{query}" if query else path)
    return LOGIN if target == HOME else f"{LOGIN}?next={quote(target, safe='')}"
