"""Which browser each sign-in belongs to: an HttpOnly, SameSite=Strict cookie bound at sign-in.

Reflex keeps a tab's identity in sessionStorage (its client token), which page scripts can read,
and cannot set HttpOnly cookies (rx.Cookie is written by JavaScript). So the portal's own HTTP
layer (portal/guard.py) gives every browser that loads a page a random secret in an HttpOnly,
SameSite=Strict cookie. The browser sends it on the Reflex websocket's handshake too, so the
sign-in event handler sees it (router headers) and binds the new API token to it here.

Every /media link and every POST /_upload is then refused unless the request carries the cookie
of the browser that signed in (and, for /_upload, the client token of that signed-in tab): a URL
copied to another browser, another user's browser, or a script without the cookie gets nothing.
Bindings live in this process's memory only, like the sessions themselves (see rxconfig.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

COOKIE = "medsegtext_browser"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Binding:
    browser: str  # sha256 of the browser's cookie secret (the secret itself is never kept)
    client_token: str  # the signed-in tab's Reflex client token


_bindings: dict[str, Binding] = {}  # API token -> the browser it was signed in from


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def is_secret(value: str | None) -> bool:
    return bool(value) and _SECRET.match(value or "") is not None


def secret_from(cookie_header: str | None) -> str | None:
    """The browser's secret from a Cookie header, if it has a well-formed one."""
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    value = morsel.value if morsel is not None else None
    return value if is_secret(value) else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def bind(token: str, client_token: str, cookie_header: str | None) -> bool:
    """Tie a new sign-in to the browser (cookie) and tab (client token) it came from.
    False when the browser sent no portal cookie: media and uploads then stay refused."""
    secret = secret_from(cookie_header)
    if not token or not client_token or secret is None:
        return False
    _bindings[token] = Binding(_digest(secret), client_token)
    return True


def forget(token: str) -> None:
    """Sign-out or an ended session: the browser's cookie no longer opens anything of it."""
    _bindings.pop(token, None)


def bound(token: str, cookie_header: str | None) -> bool:
    """Whether this request's browser is the one this API token was signed in from."""
    secret = secret_from(cookie_header)
    binding = _bindings.get(token)
    return (secret is not None and binding is not None
            and hmac.compare_digest(binding.browser, _digest(secret)))


def signed_in(cookie_header: str | None, client_token: str | None) -> bool:
    """Whether a request comes from a signed-in tab: its browser cookie and its Reflex client
    token both match one live sign-in."""
    secret = secret_from(cookie_header)
    if secret is None or not client_token:
        return False
    browser = _digest(secret)
    return any(hmac.compare_digest(b.browser, browser)
               and hmac.compare_digest(b.client_token, client_token)
               for b in list(_bindings.values()))
