"""Account: the signed-in user's password, sign-in sessions and personal API tokens.

Password: the current one, the new one twice; the API checks the current one and the policy,
then ends every other session and personal token, and this session stays signed in.

Sessions: where this user is signed in (this tab's is marked); the others can be ended one by
one or all at once, e.g. after signing in on a shared workstation. Tokens: the secret is shown
once; each has a lifetime (at most the server's maximum) and can be revoked.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import reflex as rx

from portal import api, routes
from portal.routes import Route
from portal.state.auth import AuthState
from portal.state.fields import field
from portal.state.models import SessionRow, TokenRow
from portal.state.token_rows import lifetime_days, session_row, token_row

__all__ = ["AccountState", "token_row"]


def password_form_problem(current: str, new: str, repeat: str) -> tuple[str, str]:
    """What is missing or mismatched in the form, and the field to focus; ("", "") if
    nothing (the policy itself is checked by the API, whose message names the rule)."""
    if not current:
        return "Enter your current password.", "current-password"
    if not new:
        return "Enter a new password.", "new-password"
    if new != repeat:
        return (
            "The new password and its repetition differ; type the same one twice.",
            "repeat-password",
        )
    return "", ""


def without_field(detail: str) -> str:
    """The API's "Invalid <field>: <message>" as the message alone (the form names the
    field)."""
    return re.sub(r"^Invalid [a-z_]+: ", "", detail)


class AccountState(AuthState):
    route: ClassVar[Route] = routes.ACCOUNT
    tokens: list[TokenRow] = field(list)
    sessions: list[SessionRow] = field(list)
    loading: bool = False
    error: str = ""
    create_error: str = ""
    new_secret: str = ""  # shown once, cleared when dismissed or on leaving the page
    new_secret_name: str = ""
    message: str = ""
    sessions_error: str = ""
    sessions_message: str = ""
    password_error: str = ""
    password_message: str = ""
    password_busy: bool = False

    @rx.var
    def other_sessions(self) -> int:
        return sum(1 for s in self.sessions if not s.current)

    async def _refresh(self) -> Any:
        try:
            items = await self._api("GET", "/api/auth/tokens")
        except api.ApiError as e:
            self.loading, self.error = False, e.detail
            return self._after_error(e)
        self.tokens = [token_row(t) for t in items or [] if isinstance(t, dict)]
        self.loading, self.error = False, ""
        return None

    async def _refresh_sessions(self) -> Any:
        try:
            items = await self._api("GET", "/api/auth/sessions")
        except api.ApiError as e:
            self.sessions_error = e.detail
            return self._after_error(e)
        self.sessions = [session_row(s) for s in items or [] if isinstance(s, dict)]
        self.sessions_error = ""
        return None

    @rx.event
    async def load(self) -> Any:
        self.current_page = routes.ACCOUNT.name
        self.new_secret = self.new_secret_name = self.message = self.create_error = ""
        self.sessions_message = self.password_error = self.password_message = ""
        self.password_busy = False
        self.loading = True
        yield
        if (r := await self._refresh_sessions()) is not None:
            yield r
            return
        if (r := await self._refresh()) is not None:
            yield r

    # -- password -----------------------------------------------------------------------------

    @rx.event
    async def change_password(self, form: dict[str, Any]) -> Any:
        """POST /api/auth/password: the API checks the current password and the policy, ends
        every other session and personal token, and keeps this one signed in."""
        if self.password_busy:
            return
        current = str(form.get("current_password", ""))
        new = str(form.get("new_password", ""))
        repeat = str(form.get("repeat_password", ""))
        self.password_message = ""
        problem, focus = password_form_problem(current, new, repeat)
        if problem:
            self.password_error = problem
            yield rx.set_focus(focus)
            return
        self.password_busy, self.password_error = True, ""
        yield
        try:
            done = await self._api(
                "POST",
                "/api/auth/password",
                json={"current_password": current, "new_password": new},
            )
        except api.ApiError as e:
            self.password_busy, self.password_error = False, without_field(e.detail)
            if (r := self._after_error(e)) is not None:
                yield r
                return
            yield rx.set_focus("new-password" if "new_password" in e.detail else "current-password")
            return
        count = int((done or {}).get("revoked", 0))
        self.password_busy = False
        self.password_message = (
            "Your password has been changed. This session stays signed in; every other "
            f"session and personal API token of yours has ended ({count})."
        )
        for box in ("current-password", "new-password", "repeat-password"):
            yield rx.set_value(box, "")
        for r in (await self._refresh_sessions(), await self._refresh()):
            if r is not None:
                yield r
                return

    # -- sessions -----------------------------------------------------------------------------

    @rx.event
    async def end_session(self, session_id: int) -> Any:
        self.sessions_message = ""
        try:
            await self._api("DELETE", f"/api/auth/sessions/{session_id}")
        except api.ApiError as e:
            self.sessions_error = e.detail
            return self._after_error(e)
        self.sessions_message = "That session has ended; it is signed out at its next step."
        return await self._refresh_sessions()

    @rx.event
    async def end_other_sessions(self) -> Any:
        self.sessions_message = ""
        try:
            ended = await self._api("POST", "/api/auth/sessions/end-others")
        except api.ApiError as e:
            self.sessions_error = e.detail
            return self._after_error(e)
        count = int((ended or {}).get("revoked", 0))
        self.sessions_message = (
            f"Ended {count} other session{'' if count == 1 else 's'}; "
            "only this one is still signed in."
        )
        return await self._refresh_sessions()

    # -- personal tokens ----------------------------------------------------------------------

    @rx.event
    async def create_token(self, form: dict[str, Any]) -> Any:
        name = str(form.get("name", "")).strip()
        if not name:
            self.create_error = "Give the token a name, e.g. the system that will use it."
            yield rx.set_focus("token-name")
            return
        try:
            days = lifetime_days(form.get("expires_in_days"))
        except ValueError:
            self.create_error = "Choose how long the token lives."
            yield rx.set_focus("token-lifetime")
            return
        self.create_error, self.message = "", ""
        body: dict[str, Any] = {"name": name}
        if days is not None:
            body["expires_in_days"] = days
        try:
            created = await self._api(
                "POST", "/api/auth/tokens", json=body, headers=self._browser_agent()
            )
        except api.ApiError as e:
            self.create_error = e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.new_secret = str(created.get("token", ""))
        self.new_secret_name = name
        yield rx.set_value("token-name", "")
        if (r := await self._refresh()) is not None:
            yield r

    @rx.event
    def dismiss_secret(self) -> None:
        self.new_secret = self.new_secret_name = ""

    @rx.event
    async def revoke(self, token_id: int) -> Any:
        self.message = ""
        name = next((t.name for t in self.tokens if t.id == token_id), str(token_id))
        try:
            await self._api("DELETE", f"/api/auth/tokens/{token_id}")
        except api.ApiError as e:
            self.error = e.detail
            return self._after_error(e)
        self.message = f"Token “{name}” revoked; it stops working at once."
        return await self._refresh()
