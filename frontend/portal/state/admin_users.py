"""Admin users: create, change role, deactivate, reset a password, each change after a
confirmation step."""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt, routes
from portal.routes import Route
from portal.state.account import without_field
from portal.state.auth import AuthState
from portal.state.confirm import ConfirmMixin
from portal.state.fields import field
from portal.state.models import UserRow

USERS_PAGE = 100
ROLES = ("clinician", "reviewer", "admin")  # the roles the API knows (it checks them again)


def user_row(u: dict[str, Any]) -> UserRow:
    return UserRow(
        id=int(u.get("id") or 0),
        email=str(u.get("email", "")),
        full_name=fmt.text(u.get("full_name")),
        role=str(u.get("role", "")),
        is_active=bool(u.get("is_active", True)),
        created=fmt.when(u.get("created_at")),
        last_login=fmt.when(u.get("last_login_at")) or "never",
    )


class AdminUsersState(ConfirmMixin, AuthState):
    route: ClassVar[Route] = routes.USERS
    users: list[UserRow] = field(list)
    total: int = 0
    loading: bool = False
    error: str = ""  # loading the list failed
    action_error: str = ""  # a change was refused
    message: str = ""
    create_error: str = ""
    create_busy: bool = False
    user_query: str = ""
    # the password reset dialog
    reset_open: bool = False
    reset_user_id: int = 0
    reset_email: str = ""
    reset_error: str = ""
    reset_busy: bool = False
    reset_done: bool = False
    reset_secret: str = ""  # a generated password, shown once; cleared when the dialog closes

    async def _refresh(self) -> Any:
        params: dict[str, Any] = {"limit": USERS_PAGE}
        if self.user_query.strip():
            params["q"] = self.user_query.strip()
        try:
            page = await self._api("GET", "/api/admin/users", params=params)
        except api.ApiError as e:
            self.error = e.detail
            self.loading = False
            return self._after_error(e)
        self.users = [user_row(u) for u in page.get("items", [])]
        self.total = int(page.get("total", len(self.users)))
        self.error = ""
        self.loading = False
        return None

    @rx.event
    async def load(self) -> Any:
        self.current_page = routes.USERS.name
        self.loading, self.message, self.action_error, self.create_error = True, "", "", ""
        self._drop_pending()
        self.reset_open, self.reset_secret, self.reset_done = False, "", False
        yield
        if (r := await self._refresh()) is not None:
            yield r

    @rx.event
    async def search(self, form: dict[str, Any]) -> Any:
        self.user_query = str(form.get("q", ""))
        return await self._refresh()

    @rx.event
    async def create_user(self, form: dict[str, Any]) -> Any:
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        role = str(form.get("role", ""))
        full_name = str(form.get("full_name", "")).strip()
        if not email or not password or role not in ROLES:
            self.create_error = "Email, an initial password and a role are required."
            return
        self.create_busy, self.create_error, self.message = True, "", ""
        yield
        try:
            user = await self._api(
                "POST",
                "/api/admin/users",
                json={"email": email, "password": password, "role": role, "full_name": full_name},
            )
        except api.ApiError as e:
            self.create_busy = False
            self.create_error = e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.create_busy = False
        self.message = f"Created {user.get('email', email)} ({role})."
        yield rx.call_script("document.getElementById('create-user-form')?.reset()")
        if (r := await self._refresh()) is not None:
            yield r

    async def _patch(self, user_id: int, body: dict[str, Any], done: str) -> Any:
        self.action_error, self.message = "", ""
        try:
            await self._api("PATCH", f"/api/admin/users/{user_id}", json=body)
        except api.ApiError as e:
            self.action_error = e.detail
            return self._after_error(e)
        self.message = done
        return await self._refresh()

    def _user(self, user_id: int) -> UserRow | None:
        return next((u for u in self.users if u.id == user_id), None)

    def _ask_change(
        self, title: str, text: str, label: str, user_id: int, body: dict[str, Any], done: str
    ) -> None:
        """The confirmation step of a PATCH of the user (ConfirmMixin runs it)."""
        self._ask(title, text, label, {"user_id": user_id, "body": body, "done": done})
        self.message = self.action_error = ""

    async def _run_pending(self, pending: dict[str, Any]) -> Any:
        return await self._patch(
            int(pending["user_id"]), dict(pending["body"]), str(pending["done"])
        )

    @rx.event
    def ask_role(self, user_id: int, role: str) -> None:
        """The role select's change: ask first (the select keeps the current role)."""
        user = self._user(int(user_id))
        if user is None or role not in ROLES or role == user.role:
            return
        title, text, label = role_change_words(user.email, user.role, role)
        self._ask_change(
            title, text, label, user.id, {"role": role}, f"{user.email} is now {role}."
        )

    @rx.event
    def ask_active(self, user_id: int, active: bool) -> None:
        user = self._user(int(user_id))
        if user is None or bool(active) == user.is_active:
            return
        if active:
            self._ask_change(
                f"Reactivate {user.email}?",
                f"{user.email} can sign in again as {user.role}. Sessions and "
                "tokens that ended with the deactivation stay ended.",
                "Reactivate",
                user.id,
                {"is_active": True},
                f"{user.email} reactivated.",
            )
        else:
            self._ask_change(
                f"Deactivate {user.email}?",
                f"{user.email} is signed out everywhere at once and cannot sign "
                "in; every personal API token of theirs ends for good. Their "
                "cases and reviews are kept.",
                "Deactivate",
                user.id,
                {"is_active": False},
                f"{user.email} deactivated.",
            )

    # -- password reset (a dialog: the new password, then the confirming click) --------------

    @rx.event
    def ask_reset(self, user_id: int, email: str) -> None:
        self.reset_user_id, self.reset_email = int(user_id), str(email)
        self.reset_error, self.reset_secret, self.reset_done = "", "", False
        self.reset_busy, self.reset_open = False, True
        self.message = self.action_error = ""

    @rx.event
    def set_reset_open(self, value: bool) -> None:
        """Closing the dialog forgets the generated password (it is shown once)."""
        self.reset_open = bool(value)
        if not value:
            self.reset_secret, self.reset_error, self.reset_done = "", "", False
            self.reset_busy = False

    @rx.event
    async def reset_password(self, form: dict[str, Any]) -> Any:
        """PATCH the user's password: the one entered, or a generated one shown once. The
        API ends every session and personal token of the user at once."""
        if not self.reset_open or self.reset_done or self.reset_busy or not self.reset_user_id:
            return
        typed = str(form.get("password", ""))
        repeat = str(form.get("repeat", ""))
        if typed and typed != repeat:
            self.reset_error = "The two passwords differ; type the same password twice."
            yield rx.set_focus("reset-password-repeat")
            return
        password = typed or generated_password()
        self.reset_busy, self.reset_error = True, ""
        yield
        try:
            await self._api(
                "PATCH", f"/api/admin/users/{self.reset_user_id}", json={"password": password}
            )
        except api.ApiError as e:
            self.reset_busy, self.reset_error = False, without_field(e.detail)
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.reset_busy, self.reset_done = False, True
        self.reset_secret = "" if typed else password
        self.message = (
            f"Password of {self.reset_email} reset; their sessions and personal "
            "API tokens have ended."
        )
        if (r := await self._refresh()) is not None:
            yield r


def role_change_words(email: str, old: str, new: str) -> tuple[str, str, str]:
    """Title, text and button of the confirmation for a role change."""
    if new == "admin":
        return (
            f"Make {email} an admin?",
            f"{email} ({old}) becomes an admin: they manage every user (roles, passwords, "
            "deactivation), the model versions and the audit log, and see every case. "
            "The change takes effect at once.",
            "Make admin",
        )
    if old == "admin":
        return (
            f"Remove admin rights from {email}?",
            f"{email} becomes a {new} and loses access to users, models, the dashboard and "
            "the audit log at once.",
            f"Make {new}",
        )
    what = {
        "reviewer": "sees and reviews every case",
        "clinician": "uploads cases and sees only their own",
    }
    return (
        f"Change the role of {email}?",
        f"{email} changes from {old} to {new}: a {new} {what.get(new, 'has other rights')}. "
        "The change takes effect at once.",
        f"Make {new}",
    )


PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or typed


def generated_password(groups: int = 4, size: int = 5) -> str:
    """A random password to hand over (4 x 5 of 31 symbols: about 99 bits), e.g.
    "k7mqz-4hxwp-ra9tn-e2vbc"."""
    return "-".join(
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(size)) for _ in range(groups)
    )
