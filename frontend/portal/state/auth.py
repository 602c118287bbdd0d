"""The session: who is signed in, and the API token that stays on this server.

`_token` is a backend-only var (leading underscore): Reflex never sends it to the browser. Every
page state is a substate of AuthState and calls the API through `_api`, which signs the session
out when the backend answers 401.

Every event handler of AuthState and its substates runs only for a signed-in tab holding the
permission of the state's `route` (portal/routes.py; any signed-in tab for a state without
one; `@requires` narrows one handler). The permissions are the ones GET /api/me lists at
sign-in: the portal does not encode which role may do what. This is fail-closed: AuthState
wraps each handler when Reflex registers it, so a new handler is guarded without anyone
remembering to. A tab that is not signed in gets no API call and no data, only a redirect to
/login; a signed-in tab without the permission is sent to the worklist. Only handlers marked
`@public` (the sign-in page's) run for anyone.

A session belongs to the browser, not the tab (portal/browser_session.py): before each handler
a tab drops a session that was ended in another tab of its browser (sign-out, a 401 from the
API), and a tab that is not signed in takes its browser's signed-in session, found by the
browser's HttpOnly cookie, so a case link opened in a new tab needs no second sign-in. Sign-in
returns to the page the tab was sent away from (`/login?next=`, portal/return_path.py).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import reflex as rx
from reflex.event import EventHandler
from reflex.state import _override_base_method

from portal import api, browser_session, media, return_path, routes
from portal.routes import Route
from portal.state.fields import field

SESSION_ENDED = "Your session has ended; please sign in again."
PLEASE_SIGN_IN = "Please sign in."
PUBLIC_MARK = "_portal_public"
PERMISSION_MARK = "_portal_permission"
GUARDED_MARK = "_portal_guarded"  # the permission a wrapped handler needs (read by tests)

F = TypeVar("F", bound=Callable[..., Any])


def public(fn: F) -> F:
    """Let a tab that is not signed in run this handler (only the sign-in page's own)."""
    setattr(fn, PUBLIC_MARK, True)
    return fn


def requires(permission: str) -> Callable[[F], F]:
    """Admit to one handler only a tab whose user has this permission (narrower than its
    state's)."""

    def mark(fn: F) -> F:
        setattr(fn, PERMISSION_MARK, permission)
        return fn

    return mark


def _refusal(state: Any, permission: str) -> Any:
    """None if this tab may run the handler, else where to send it (nothing else happens)."""
    state._follow_browser()
    if not state._token or not state.role:
        state.notice = state.notice or PLEASE_SIGN_IN
        url = state.router.url
        return rx.redirect(return_path.login_path(url.path, url.query))
    if not routes.allows(permission, state.permissions):
        return rx.redirect(routes.HOME)
    return None


async def _refusal_async(state: Any, permission: str, background: bool) -> Any:
    if background:  # a background task reads and writes its state only under the lock
        async with state:
            return _refusal(state, permission)
    return _refusal(state, permission)


def _guarded(fn: Callable[..., Any], permission: str) -> Callable[..., Any]:
    """`fn` behind the sign-in and permission check, of the same kind (plain, coroutine, generator,
    async generator) and with the same signature, so Reflex treats it as it treated `fn`."""
    background = bool(getattr(fn, rx.event.BACKGROUND_TASK_MARKER, False))
    wrapper: Callable[..., Any]
    if inspect.isasyncgenfunction(fn):

        async def agen(self: Any, *args: Any, **kwargs: Any) -> Any:
            if (refused := await _refusal_async(self, permission, background)) is not None:
                yield refused
                return
            async for update in fn(self, *args, **kwargs):
                yield update

        wrapper = agen
    elif inspect.iscoroutinefunction(fn):

        async def coro(self: Any, *args: Any, **kwargs: Any) -> Any:
            if (refused := await _refusal_async(self, permission, background)) is not None:
                return refused
            return await fn(self, *args, **kwargs)

        wrapper = coro
    elif inspect.isgeneratorfunction(fn):

        def gen(self: Any, *args: Any, **kwargs: Any) -> Any:
            if (refused := _refusal(self, permission)) is not None:
                yield refused
                return None
            return (yield from fn(self, *args, **kwargs))

        wrapper = gen
    else:

        def plain(self: Any, *args: Any, **kwargs: Any) -> Any:
            if (refused := _refusal(self, permission)) is not None:
                return refused
            return fn(self, *args, **kwargs)

        wrapper = plain
    wrapped = functools.wraps(fn)(wrapper)
    setattr(wrapped, GUARDED_MARK, permission)
    return wrapped


class AuthState(rx.State):
    # the page whose permission this state's handlers need (None: any signed-in tab)
    route: ClassVar[Route | None] = None
    _token: str = ""
    user_id: int = 0
    email: str = ""
    full_name: str = ""
    role: str = ""  # shown, never checked: `permissions` says what the user may do
    permissions: list[str] = field(list)  # as GET /api/me lists them
    notice: str = ""  # shown on the sign-in page (why you are there)
    login_error: str = ""
    login_busy: bool = False
    current_page: str = ""
    _reloaded: bool = False  # the sign-in page reloaded once for the browser's new cookie

    @rx.var
    def signed_in(self) -> bool:
        return self.role != ""

    @rx.var
    def can_upload(self) -> bool:
        return routes.UPLOAD_CASES in self.permissions

    @rx.var
    def can_review(self) -> bool:
        return routes.REVIEW_CASES in self.permissions

    @rx.var
    def display_name(self) -> str:
        return self.full_name or self.email

    # -- helpers (underscore: not event handlers) -----------------------------------------

    def _end_session(self, notice: str = "") -> None:
        """End the session for every tab of the browser (its links and binding go too)."""
        if self._token:
            media.revoke_token(self._token)
        self._drop_copy(notice)

    def _drop_copy(self, notice: str = "") -> None:
        """This tab is no longer signed in; the session itself is left as it is."""
        self._token = ""
        self.user_id = 0
        self.email = ""
        self.full_name = ""
        self.role = ""
        self.permissions = []
        self.notice = notice

    def _take(self, token: str, user: dict[str, Any]) -> None:
        self._token = token
        self.user_id = int(user.get("id") or 0)
        self.email = str(user.get("email", ""))
        self.full_name = str(user.get("full_name") or "")
        self.role = str(user.get("role", ""))
        self.permissions = [str(p) for p in user.get("permissions") or []]
        self.notice = ""
        self._reloaded = False

    def _follow_browser(self) -> None:
        """Bring this tab in line with its browser's session (see the module docstring)."""
        cookie = self.router.headers.cookie
        if self._token:
            found = browser_session.check(self._token, cookie)
            if found == browser_session.LIVE:
                return
            if found == browser_session.ENDED:
                self._end_session(SESSION_ENDED)
            else:  # another browser's request with this tab's client token
                self._drop_copy()
        session = browser_session.adopt(cookie, self.router.session.client_token)
        if session is not None:
            self._take(session.token, session.user)

    def _next_page(self) -> str:
        """Where sign-in goes: the sign-in page's `next`, if it names a portal page."""
        return return_path.safe(self.router.url.query_parameters.get("next"))

    # -- the guard (see the module docstring) ------------------------------------------

    @classmethod
    @_override_base_method
    def _create_event_handler(
        cls, fn: Any, event_handler_cls: type[EventHandler] = EventHandler
    ) -> Any:
        """Reflex makes every handler of a state here (its class body, mixins, handlers
        added later), so this is where each one gets the sign-in and role check."""
        if (
            callable(fn)
            and not getattr(fn, PUBLIC_MARK, False)
            and getattr(fn, GUARDED_MARK, None) is None
        ):
            needed = getattr(fn, PERMISSION_MARK, None)
            if needed is None:
                needed = cls.route.permission if cls.route is not None else routes.SIGNED_IN
            fn = _guarded(fn, needed)
        return super()._create_event_handler(fn, event_handler_cls)

    def _forwarded(self) -> dict[str, str]:
        """The browser's address for the audit log and sign-in throttle (the API honours it
        only from the addresses in MEDSEGTEXT_TRUSTED_PROXIES: backend/http/proxies.py)."""
        ip = self.router.session.client_ip
        return {"X-Forwarded-For": ip} if ip else {}

    def _browser_agent(self) -> dict[str, str]:
        """The browser's User-Agent, which the API records with a new session or token (else
        every sign-in through the portal would read "medsegtext-portal")."""
        agent = self.router.headers.user_agent
        return {"User-Agent": agent} if agent else {}

    async def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        kwargs["headers"] = {**self._forwarded(), **(kwargs.get("headers") or {})}
        try:
            return await api.call(method, path, self._token, **kwargs)
        except api.ApiError as e:
            if e.unauthenticated and self._token:
                self._end_session(SESSION_ENDED)
            raise

    def _after_error(self, e: api.ApiError) -> Any:
        """The redirect to sign in when the session ended, else None."""
        return rx.redirect("/login") if e.unauthenticated and not self._token else None

    # -- events ---------------------------------------------------------------------------

    @rx.event
    @public
    def open_login(self) -> Any:
        self.current_page = "login"
        self.login_busy = False
        self._follow_browser()
        if self._token and self.role:
            return rx.redirect(self._next_page())
        if not self._reloaded and browser_session.retired(self.router.headers.cookie):
            # this tab's websocket opened before another tab signed in and gave the browser a
            # new cookie; a reload reconnects with it (once: a browser that kept refusing the
            # cookie would loop)
            self._reloaded = True
            return rx.call_script("window.location.reload()")
        return None

    @rx.event
    @public
    async def login(self, form: dict[str, Any]) -> Any:
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        if not email or not password:
            self.login_error = "Enter your email and password."
            yield rx.set_focus("login-email" if not email else "login-password")
            return
        self.login_busy = True
        self.login_error = ""
        target = self._next_page()
        yield
        try:
            body = await api.call(
                "POST",
                "/api/auth/login",
                headers={**self._forwarded(), **self._browser_agent()},  # the session list shows it
                json={"email": email, "password": password},
            )
        except api.ApiError as e:
            self.login_busy = False
            self.login_error = e.detail
            return
        token = str(body.get("token", ""))
        try:  # who signed in and what they may do, as the API says
            me = await api.call("GET", "/api/me", token, headers=self._forwarded())
        except api.ApiError as e:
            with contextlib.suppress(api.ApiError):  # no session the portal cannot use
                await api.call("POST", "/api/auth/logout", token, headers=self._forwarded())
            self.login_busy = False
            self.login_error = e.detail
            return
        profile = {
            "id": me.get("id"),
            "email": me.get("email", email),
            "full_name": me.get("full_name"),
            "role": me.get("role", ""),
            "permissions": list(me.get("permissions") or []),
        }
        self._take(token, profile)
        code = browser_session.start(
            self._token,
            self.router.session.client_token,
            self.router.headers.cookie,
            profile,
            target,
        )
        self.login_busy = False
        if code is None:  # no portal cookie: this tab alone is signed in
            yield rx.redirect(target)
            return
        # a navigation through the portal's route gives the browser a new HttpOnly cookie bound
        # to this session (portal/guard.py), then goes on to `target`
        step = f"{browser_session.ROTATE_PATH}?code={code}"
        yield rx.call_script(f"window.location.replace({json.dumps(step)})")

    @rx.event
    async def logout(self) -> Any:
        if self._token:
            with contextlib.suppress(api.ApiError):  # signing out here matters most
                await api.call("POST", "/api/auth/logout", self._token, headers=self._forwarded())
        self._end_session("You have signed out.")
        return rx.redirect("/login")
