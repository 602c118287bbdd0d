"""The session: who is signed in, and the API token that stays on this server.

`_token` is a backend-only var (leading underscore): Reflex never sends it to the browser. Every
page state is a substate of AuthState and calls the API through `_api`, which signs the session
out when the backend answers 401.
"""

from __future__ import annotations

import contextlib
from typing import Any

import reflex as rx

from portal import api, browser_session, media

ROLES = ("clinician", "reviewer", "admin")
UPLOADERS = ("clinician", "admin")
REVIEWERS = ("reviewer", "admin")
ADMINS = ("admin",)
SESSION_ENDED = "Your session has ended; please sign in again."


class AuthState(rx.State):
    _token: str = ""
    user_id: int = 0
    email: str = ""
    full_name: str = ""
    role: str = ""
    notice: str = ""  # shown on the sign-in page (why you are there)
    login_error: str = ""
    login_busy: bool = False
    current_page: str = ""

    @rx.var
    def signed_in(self) -> bool:
        return self.role != ""

    @rx.var
    def can_upload(self) -> bool:
        return self.role in UPLOADERS

    @rx.var
    def can_review(self) -> bool:
        return self.role in REVIEWERS

    @rx.var
    def is_admin(self) -> bool:
        return self.role in ADMINS

    @rx.var
    def display_name(self) -> str:
        return self.full_name or self.email

    # -- helpers (underscore: not event handlers) -----------------------------------------

    def _end_session(self, notice: str = "") -> None:
        if self._token:
            media.revoke_token(self._token)
        self._token = ""
        self.user_id = 0
        self.email = ""
        self.full_name = ""
        self.role = ""
        self.notice = notice

    def _guard(self, page: str, roles: tuple[str, ...] = ROLES) -> Any:
        """None if this session may see the page, else where to send it."""
        self.current_page = page
        if not self._token or not self.role:
            self.notice = self.notice or "Please sign in."
            return rx.redirect("/login")
        if self.role not in roles:
            return rx.redirect("/")
        return None

    def _forwarded(self) -> dict[str, str]:
        """The browser's address for the backend's audit log (uvicorn honours it from trusted
        proxies only: --forwarded-allow-ips, 127.0.0.1 by default)."""
        ip = self.router.session.client_ip
        return {"X-Forwarded-For": ip} if ip else {}

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
    def open_login(self) -> Any:
        self.current_page = "login"
        self.login_busy = False
        if self._token and self.role:
            return rx.redirect("/")
        return None

    @rx.event
    async def login(self, form: dict[str, Any]) -> Any:
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        if not email or not password:
            self.login_error = "Enter your email and password."
            yield rx.set_focus("login-email" if not email else "login-password")
            return
        self.login_busy = True
        self.login_error = ""
        yield
        try:
            body = await api.call("POST", "/api/auth/login", headers=self._forwarded(),
                                  json={"email": email, "password": password})
        except api.ApiError as e:
            self.login_busy = False
            self.login_error = e.detail
            return
        user = body.get("user") or {}
        self._token = str(body.get("token", ""))
        # this browser's HttpOnly cookie (portal/guard.py) and tab now open its media and uploads
        browser_session.bind(self._token, self.router.session.client_token,
                             self.router.headers.cookie)
        self.user_id = int(user.get("id") or 0)
        self.email = str(user.get("email", email))
        self.full_name = str(user.get("full_name") or "")
        self.role = str(user.get("role", ""))
        self.notice = ""
        self.login_busy = False
        yield rx.redirect("/")

    @rx.event
    async def logout(self) -> Any:
        if self._token:
            with contextlib.suppress(api.ApiError):  # signing out here matters most
                await api.call("POST", "/api/auth/logout", self._token,
                               headers=self._forwarded())
        self._end_session("You have signed out.")
        return rx.redirect("/login")
