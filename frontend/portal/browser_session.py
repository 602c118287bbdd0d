"""One signed-in session per browser, found by the browser's HttpOnly, SameSite=Strict cookie.

Reflex keeps a tab's identity in sessionStorage (its client token), which page scripts can read,
and cannot set HttpOnly cookies (rx.Cookie is written by JavaScript). So the portal's own HTTP
layer (portal/guard.py) gives every browser that loads a page a random secret in an HttpOnly,
SameSite=Strict cookie. The browser sends it on the Reflex websocket's handshake too, so event
handlers see it (router headers).

- Sign-in (`start`) registers the new API token for the signing-in tab and returns a one-time
  code. The tab then opens ROTATE_PATH with it (a navigation: only an HTTP answer can set an
  HttpOnly cookie), where `rotate` gives the browser a new cookie value and binds the session to
  it. A value planted before sign-in (a page on another port of the same host can set cookies
  for this host name) therefore opens nothing afterwards.
- Any tab of that browser (a case link opened in a new tab, a pasted URL) finds the session by
  its cookie (`adopt`) and is signed in as well; the API token never leaves this process.
- Sign-out, a 401 from the API (`forget`), a later sign-in in the same browser, or
  IDLE_SECONDS without any use end it for every tab of the browser: each tab checks it
  (`check`) before every event handler.
- Every /media link and every POST /_upload is refused unless the request carries the cookie
  of the browser the session is bound to (and, for /_upload, the client token of one of its
  tabs): a URL copied to another browser, or a script without the cookie, gets nothing.

Everything lives in this process's memory only, like the sessions themselves (see rxconfig.py).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any

COOKIE = "medsegtext_browser"
ROTATE_PATH = "/_portal/signed-in"  # guard.py answers it; sign-in navigates the tab there
ROTATE_TTL = 60.0  # seconds from sign-in to opening ROTATE_PATH
RETIRED_TTL = 24 * 3600.0  # how long a replaced cookie value is remembered (see `retired`)
MAX_SESSIONS = 10_000
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


def _idle_seconds() -> float:
    """Reflex forgets a tab's state after this long unused (REFLEX_REDIS_TOKEN_EXPIRATION, one
    hour by default); a browser's session is forgotten then too, so a new tab after a long
    pause asks for the password again."""
    raw = os.environ.get("REFLEX_REDIS_TOKEN_EXPIRATION", "").strip()
    return float(raw) if raw.isdigit() and int(raw) > 0 else 3600.0


IDLE_SECONDS = _idle_seconds()


@dataclass
class Session:
    token: str  # the API token (never sent to a browser)
    user: dict[str, Any]  # id, email, full_name, role, permissions: GET /api/me at sign-in
    browser: str | None = None  # sha256 of the bound cookie secret; None until rotated
    tabs: set[str] = field(default_factory=set)  # Reflex client tokens of its tabs
    used: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Rotation:
    token: str
    browser: str  # digest of the cookie the browser signed in with
    next_path: str
    expires: float


_sessions: dict[str, Session] = {}  # API token -> session
_by_browser: dict[str, str] = {}  # cookie digest -> API token
_rotations: dict[str, Rotation] = {}  # one-time code -> pending rotation
_retired: dict[str, tuple[float, str]] = {}  # cookie digest replaced at a sign-in -> (when, by)


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


def _browser(cookie_header: str | None) -> str | None:
    secret = secret_from(cookie_header)
    return _digest(secret) if secret is not None else None


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


def prune(now: float | None = None) -> None:
    """Forget idle sessions, stale rotation codes and old retired cookie values."""
    now = time.monotonic() if now is None else now
    for token in [t for t, s in _sessions.items() if now - s.used > IDLE_SECONDS]:
        forget(token)
    for code in [c for c, r in _rotations.items() if r.expires <= now]:
        _rotations.pop(code, None)
    for browser in [b for b, (at, _) in _retired.items() if now - at > RETIRED_TTL]:
        _retired.pop(browser, None)
    while len(_sessions) > MAX_SESSIONS:  # least recently used first
        forget(min(_sessions.values(), key=lambda s: s.used).token)
    while len(_retired) > MAX_SESSIONS:
        _retired.pop(next(iter(_retired)))


def start(
    token: str, client_token: str, cookie_header: str | None, user: dict[str, Any], next_path: str
) -> str | None:
    """Register a new sign-in for the tab it came from. Returns the one-time code for
    ROTATE_PATH, or None when the browser sent no portal cookie (the session then belongs to
    this tab alone, and media and uploads stay refused)."""
    prune()
    _sessions[token] = Session(token, dict(user), tabs={client_token} if client_token else set())
    browser = _browser(cookie_header)
    if browser is None:
        return None
    code = secrets.token_urlsafe(24)
    _rotations[code] = Rotation(token, browser, next_path, time.monotonic() + ROTATE_TTL)
    return code


def _successors(browser: str) -> list[str]:
    """This cookie digest and the ones that replaced it, in order (the current one last)."""
    chain = [browser]
    while (after := _retired.get(chain[-1])) is not None and len(chain) <= 64:
        chain.append(after[1])
    return chain


def rotate(code: str, cookie_header: str | None) -> tuple[str, str, str | None] | None:
    """Finish a sign-in in the browser that started it: (the browser's new cookie secret, the
    page to go to, the API token of a session this browser had before, now ended here), or None
    when the code is unknown, used, expired, or another browser's (then it stays usable).

    The browser is the one that signed in if it sends the cookie the sign-in came with or, when
    another sign-in has replaced that value since, the value that replaced it: a tab whose
    websocket opened before another tab signed in still signs in with the old value, while the
    browser already holds the new one. The old value alone (planted) is then not enough."""
    rotation = _rotations.get(code)
    browser = _browser(cookie_header)
    if rotation is None or browser is None or not _same(_successors(rotation.browser)[-1], browser):
        return None
    del _rotations[code]
    session = _sessions.get(rotation.token)
    if rotation.expires <= time.monotonic() or session is None:
        return None
    replaced = _by_browser.pop(browser, None)
    if replaced == rotation.token:
        replaced = None
    elif replaced is not None:
        forget(replaced)
    secret = new_secret()
    session.browser = _digest(secret)
    session.used = time.monotonic()
    _by_browser[session.browser] = session.token
    # the first value that replaced it stays its successor: a later sign-in that also comes
    # with the old value is not from the browser that holds the new one
    _retired.setdefault(browser, (time.monotonic(), session.browser))
    return secret, rotation.next_path, replaced


def adopt(cookie_header: str | None, client_token: str) -> Session | None:
    """The signed-in session of this request's browser, now also this tab's, if it has one."""
    session = _sessions.get(_by_browser.get(_browser(cookie_header) or "", ""))
    if session is None or time.monotonic() - session.used > IDLE_SECONDS:
        return None
    session.used = time.monotonic()
    if client_token:
        session.tabs.add(client_token)
    return session


LIVE = "live"
ENDED = "ended"
OTHER_BROWSER = "other browser"


def check(token: str, cookie_header: str | None) -> str:
    """What a tab holding this API token finds before each event: LIVE; ENDED (signed out or
    ended in some tab, by the API, or idle: the tab ends it too); or OTHER_BROWSER, when the
    session is bound to a browser and the request does not carry its cookie (a stolen client
    token: the tab's copy is dropped, the session goes on)."""
    session = _sessions.get(token)
    if session is None or time.monotonic() - session.used > IDLE_SECONDS:
        return ENDED
    if session.browser is not None and not _same(session.browser, _browser(cookie_header)):
        return OTHER_BROWSER
    session.used = time.monotonic()
    return LIVE


def retired(cookie_header: str | None) -> bool:
    """Whether this cookie value was replaced at a sign-in: a tab whose websocket opened before
    that still sends it, and reloading gives it the browser's current one."""
    browser = _browser(cookie_header)
    return browser is not None and browser in _retired


def forget(token: str) -> None:
    """Sign-out or an ended session: no tab and no cookie opens anything of it any more."""
    session = _sessions.pop(token, None)
    if session is not None and session.browser and _by_browser.get(session.browser) == token:
        del _by_browser[session.browser]
    for code in [c for c, r in _rotations.items() if r.token == token]:
        _rotations.pop(code, None)


def bound(token: str, cookie_header: str | None) -> bool:
    """Whether this request's browser is the one this API token's session is bound to."""
    session = _sessions.get(token)
    return session is not None and _same(session.browser, _browser(cookie_header))


def signed_in(cookie_header: str | None, client_token: str | None) -> bool:
    """Whether a request comes from a signed-in tab: its browser cookie and its Reflex client
    token both belong to one live session."""
    session = _sessions.get(_by_browser.get(_browser(cookie_header) or "", ""))
    return (
        session is not None
        and bool(client_token)
        and any(hmac.compare_digest(t, client_token or "") for t in list(session.tabs))
    )
