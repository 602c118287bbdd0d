"""Admin: users (create, change role, deactivate, reset a password: each change after a
confirmation step), the dashboard and the audit log."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt, media
from portal.state.account import without_field
from portal.state.auth import ADMINS, ROLES, AuthState
from portal.state.models import AgreementRow, AuditRow, Stat, UserRow

AUDIT_PAGE = 50
USERS_PAGE = 100


def user_row(u: dict[str, Any]) -> UserRow:
    return UserRow(id=int(u.get("id") or 0), email=str(u.get("email", "")),
                   full_name=fmt.text(u.get("full_name")), role=str(u.get("role", "")),
                   is_active=bool(u.get("is_active", True)), created=fmt.when(u.get("created_at")),
                   last_login=fmt.when(u.get("last_login_at")) or "never")


class AdminUsersState(AuthState):
    page_roles: ClassVar[tuple[str, ...]] = ADMINS
    users: list[UserRow] = rx.field(default_factory=list)
    total: int = 0
    loading: bool = False
    error: str = ""  # loading the list failed
    action_error: str = ""  # a change was refused
    message: str = ""
    create_error: str = ""
    create_busy: bool = False
    user_query: str = ""
    # the confirmation step before a role or activity change (see components/confirm.py)
    confirm_open: bool = False
    confirm_title: str = ""
    confirm_text: str = ""
    confirm_label: str = ""
    confirm_busy: bool = False
    _pending: dict[str, Any] = rx.field(default_factory=dict)  # user_id, body, done
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
        self.current_page = "admin-users"
        self.loading, self.message, self.action_error, self.create_error = True, "", "", ""
        self.confirm_open, self.confirm_busy, self._pending = False, False, {}
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
            user = await self._api("POST", "/api/admin/users", json={
                "email": email, "password": password, "role": role, "full_name": full_name})
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

    def _ask(self, title: str, text: str, label: str, user_id: int, body: dict[str, Any],
             done: str) -> None:
        """Show the confirmation step; nothing changes until confirm() runs."""
        self.confirm_title, self.confirm_text, self.confirm_label = title, text, label
        self._pending = {"user_id": user_id, "body": body, "done": done}
        self.confirm_open, self.confirm_busy = True, False
        self.message = self.action_error = ""

    @rx.event
    def ask_role(self, user_id: int, role: str) -> None:
        """The role select's change: ask first (the select keeps the current role)."""
        user = self._user(int(user_id))
        if user is None or role not in ROLES or role == user.role:
            return
        title, text, label = role_change_words(user.email, user.role, role)
        self._ask(title, text, label, user.id, {"role": role}, f"{user.email} is now {role}.")

    @rx.event
    def ask_active(self, user_id: int, active: bool) -> None:
        user = self._user(int(user_id))
        if user is None or bool(active) == user.is_active:
            return
        if active:
            self._ask(f"Reactivate {user.email}?",
                      f"{user.email} can sign in again as {user.role}. Sessions and tokens "
                      "that ended with the deactivation stay ended.", "Reactivate", user.id,
                      {"is_active": True}, f"{user.email} reactivated.")
        else:
            self._ask(f"Deactivate {user.email}?",
                      f"{user.email} is signed out everywhere at once and cannot sign in; "
                      "every personal API token of theirs ends for good. Their cases and "
                      "reviews are kept.", "Deactivate", user.id, {"is_active": False},
                      f"{user.email} deactivated.")

    @rx.event
    def set_confirm_open(self, value: bool) -> None:
        """Radix's on_open_change: Cancel or Escape drop what was pending."""
        if not value:
            self.confirm_open, self.confirm_busy, self._pending = False, False, {}

    @rx.event
    async def confirm(self) -> Any:
        """Run the pending change; only from the confirmation step."""
        pending = self._pending
        if not self.confirm_open or not pending or self.confirm_busy:
            return
        self.confirm_busy = True
        yield
        r = await self._patch(int(pending["user_id"]), dict(pending["body"]),
                              str(pending["done"]))
        self.confirm_open, self.confirm_busy, self._pending = False, False, {}
        if r is not None:
            yield r

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
            await self._api("PATCH", f"/api/admin/users/{self.reset_user_id}",
                            json={"password": password})
        except api.ApiError as e:
            self.reset_busy, self.reset_error = False, without_field(e.detail)
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.reset_busy, self.reset_done = False, True
        self.reset_secret = "" if typed else password
        self.message = (f"Password of {self.reset_email} reset; their sessions and personal "
                        "API tokens have ended.")
        if (r := await self._refresh()) is not None:
            yield r


def role_change_words(email: str, old: str, new: str) -> tuple[str, str, str]:
    """Title, text and button of the confirmation for a role change."""
    if new == "admin":
        return (f"Make {email} an admin?",
                f"{email} ({old}) becomes an admin: they manage every user (roles, passwords, "
                "deactivation), the model versions and the audit log, and see every case. "
                "The change takes effect at once.", "Make admin")
    if old == "admin":
        return (f"Remove admin rights from {email}?",
                f"{email} becomes a {new} and loses access to users, models, the dashboard and "
                "the audit log at once.", f"Make {new}")
    what = {"reviewer": "sees and reviews every case",
            "clinician": "uploads cases and sees only their own"}
    return (f"Change the role of {email}?",
            f"{email} changes from {old} to {new}: a {new} {what.get(new, 'has other rights')}. "
            "The change takes effect at once.", f"Make {new}")


PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or typed


def generated_password(groups: int = 4, size: int = 5) -> str:
    """A random password to hand over (4 x 5 of 31 symbols: about 99 bits), e.g.
    "k7mqz-4hxwp-ra9tn-e2vbc"."""
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(size))
                    for _ in range(groups))


def share(value: Any) -> str:
    return fmt.fraction(value)


def f1(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.2f}"


def agreement_row(a: dict[str, Any]) -> AgreementRow:
    name = " ".join(str(p) for p in (a.get("name"), a.get("version")) if p)
    return AgreementRow(
        model=name or "unknown", reviewed_cases=str(a.get("reviewed_cases", 0)),
        shown_cases=str(a.get("shown_cases", 0)), shadow_cases=str(a.get("shadow_cases", 0)),
        accepted_unedited=share(a.get("accepted_unedited_share")),
        rejected=share(a.get("rejected_share")), zone_cases=str(a.get("zone_cases", 0)),
        zone_f1=f1(a.get("zone_f1")), exact_match=share(a.get("exact_zone_match_share")))


def _iso_date(value: str, end: bool = False) -> str | None:
    """A yyyy-mm-dd (or full ISO) date from a form as an ISO UTC time; None if empty.
    Raises ValueError if it is not a date."""
    value = value.strip()
    if not value:
        return None
    when = datetime.fromisoformat(value)
    if len(value) == 10 and end:  # a whole day: up to its end
        when = when.replace(hour=23, minute=59, second=59)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


class DashboardState(AuthState):
    page_roles: ClassVar[tuple[str, ...]] = ADMINS
    agreement: list[AgreementRow] = rx.field(default_factory=list)
    export_busy: bool = False
    export_error: str = ""
    export_message: str = ""
    export_url: str = ""  # /media/<ticket> of the last export's zip
    export_name: str = ""
    cards: list[Stat] = rx.field(default_factory=list)
    by_status: list[Stat] = rx.field(default_factory=list)
    by_review: list[Stat] = rx.field(default_factory=list)
    loading: bool = False
    error: str = ""

    @rx.event
    async def load(self) -> Any:
        self.current_page = "admin-dashboard"
        self.loading = True
        yield
        try:
            s = await self._api("GET", "/api/admin/stats")
        except api.ApiError as e:
            self.loading, self.error = False, e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        turnaround = s.get("turnaround") or {}
        queue = s.get("queue_depth")
        self.cards = [
            Stat("Cases", str(s.get("cases_total", 0)), "all time"),
            Stat("Queue depth", "unavailable" if queue is None else str(queue),
                 "jobs waiting in Redis"),
            Stat("Turnaround p50", fmt.seconds(turnaround.get("p50_seconds")),
                 f"upload to done, last {turnaround.get('cases', 0)} cases"),
            Stat("Turnaround p95", fmt.seconds(turnaround.get("p95_seconds")), ""),
            Stat("Failure rate", fmt.fraction(s.get("failure_rate")), "failed / finished"),
            Stat("Accepted unedited", fmt.fraction(s.get("accepted_unedited_share")),
                 "share of reviewed cases"),
        ]
        self.by_status = [Stat(k, str(v)) for k, v in (s.get("cases_by_status") or {}).items()]
        self.by_review = [Stat(k, str(v)) for k, v in (s.get("reviews_by_state") or {}).items()]
        self.agreement = [agreement_row(a) for a in s.get("model_agreement") or []
                          if isinstance(a, dict)]
        self.loading, self.error = False, ""

    @rx.event
    async def export_dataset(self, form: dict[str, Any]) -> Any:
        """POST /api/admin/datasets/export; the zip goes to a temporary file that a one-off
        ticket serves, so the browser never holds the token (409: nothing to export)."""
        if self.export_busy:
            return
        body: dict[str, Any] = {}
        try:
            if (start := _iso_date(str(form.get("created_from", "")))) is not None:
                body["created_from"] = start
            if (end := _iso_date(str(form.get("created_to", "")), end=True)) is not None:
                body["created_to"] = end
            inverted = inverted_range(str(form.get("created_from", "")),
                                      str(form.get("created_to", "")),
                                      ("Uploaded from", "Uploaded to"))
        except ValueError:
            self.export_error = "Enter dates as YYYY-MM-DD."
            return
        if inverted:
            self.export_error = inverted
            return
        limit = str(form.get("limit", "")).strip()
        if limit:
            if not limit.isdigit() or not 1 <= int(limit) <= 20000:
                self.export_error = "The limit must be a whole number from 1 to 20000."
                return
            body["limit"] = int(limit)
        self.export_busy, self.export_error, self.export_message = True, "", ""
        self.export_url = self.export_name = ""
        yield
        try:
            response = await api.send("POST", "/api/admin/datasets/export", self._token,
                                      json=body or None, timeout=api.UPLOAD_TIMEOUT,
                                      headers=self._forwarded())
        except api.ApiError as e:
            self.export_busy = False
            self.export_error = e.detail
            if e.unauthenticated:
                self._end_session("Your session has ended; please sign in again.")
                yield rx.redirect("/login")
            return
        fd, path = media.export_file()  # removed on expiry, sign-out and next start
        with os.fdopen(fd, "wb") as f:
            f.write(response.content)
        disposition = response.headers.get("content-disposition", "")
        name = (disposition.split("filename=", 1)[1].strip('"; ') if "filename=" in disposition
                else "medsegtext-dataset.zip")
        url = media.issue_file(self._token, path, "application/zip", name)
        cases, skipped = (response.headers.get("x-export-cases", "?"),
                          response.headers.get("x-export-skipped", "0"))
        self.export_busy, self.export_url, self.export_name = False, url, name
        self.export_message = (f"Exported {cases} reviewed cases ({skipped} skipped) as {name}.")
        yield rx.download(url=url, filename=name)


def audit_row(e: dict[str, Any], emails: dict[int, str]) -> AuditRow:
    user = e.get("user_id")
    role = e.get("role")
    name = e.get("user_email") or (emails.get(user, f"user {user}") if isinstance(user, int)
                                   else f"user {user}")
    target = " ".join(str(p) for p in (e.get("object_type"), e.get("object_id")) if p)
    detail = e.get("detail")
    return AuditRow(
        id=int(e.get("id") or 0), at=fmt.when(e.get("at")),
        user=(name + (f" ({role})" if role else "")) if user is not None else "—",
        action=str(e.get("action", "")), target=target or "—",
        client=fmt.text(e.get("client_addr")) or "—",
        detail=json.dumps(detail, sort_keys=True) if detail else "")


@dataclass
class ActionOption:
    """One audit action for the filter's list: its name and what it records."""

    name: str = ""
    label: str = ""


def action_option(a: dict[str, Any]) -> ActionOption:
    name, description = str(a.get("name", "")), str(a.get("description") or "")
    return ActionOption(name=name, label=f"{name} · {description}" if description else name)


def inverted_range(since: str, until: str, labels: tuple[str, str] = ("Since", "Until")
                   ) -> str:
    """The message for a range that ends before it starts, else "" (dates as the form has
    them, YYYY-MM-DD; raises ValueError for one that is not a date). `labels` are the form's
    names for the two fields."""
    start, end = _iso_date(since), _iso_date(until, end=True)
    if start and end and datetime.fromisoformat(start) > datetime.fromisoformat(end):
        return (f"The date range ends before it starts: “{labels[0]}” ({since.strip()}) is "
                f"after “{labels[1]}” ({until.strip()}). Swap the dates or clear one.")
    return ""


class AuditState(AuthState):
    page_roles: ClassVar[tuple[str, ...]] = ADMINS
    events: list[AuditRow] = rx.field(default_factory=list)
    total: int = 0
    offset: int = 0
    action_filter: str = ""
    user_filter: str = ""  # the acting user's email
    case_filter: str = ""
    since_filter: str = ""
    until_filter: str = ""
    filter_error: str = ""
    csv_url: str = ""  # /media/<ticket> for audit.csv with the current filters
    loading: bool = False
    error: str = ""
    actions: list[ActionOption] = rx.field(default_factory=list)  # the API's action names
    user_emails: list[str] = rx.field(default_factory=list)  # suggestions for the email box
    _emails: dict[int, str] = rx.field(default_factory=dict)  # user id -> email ("Who")

    @rx.var
    def range_text(self) -> str:
        return fmt.page_range(self.offset, self.total, AUDIT_PAGE, "No events")

    @rx.var
    def has_prev(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + AUDIT_PAGE < self.total

    def _filters(self) -> dict[str, Any]:
        """The API's audit filters (raises ValueError for a date that is not one)."""
        filters: dict[str, Any] = {}
        if self.action_filter.strip():
            filters["action"] = self.action_filter.strip()
        if self.user_filter.strip():
            filters["user_email"] = self.user_filter.strip()
        if self.case_filter.strip():
            filters["case_id"] = self.case_filter.strip()
        if (since := _iso_date(self.since_filter)) is not None:
            filters["since"] = since
        if (until := _iso_date(self.until_filter, end=True)) is not None:
            filters["until"] = until
        return filters

    async def _load_choices(self) -> Any:
        """The action list and the users' emails (for "Who" and the email suggestions)."""
        try:
            actions = await self._api("GET", "/api/admin/audit/actions")
            self.actions = [action_option(a) for a in actions or [] if isinstance(a, dict)]
        except api.ApiError as e:
            if e.unauthenticated:
                return self._after_error(e)
            self.actions = []  # the filter still offers "Any action"
        try:
            users = await self._api("GET", "/api/admin/users", params={"limit": 100})
            self._emails = {int(u["id"]): str(u["email"]) for u in users.get("items", [])}
        except (api.ApiError, KeyError, TypeError, ValueError):
            self._emails = {}  # ids are shown instead
        self.user_emails = sorted(self._emails.values())
        return None

    async def _refresh(self) -> Any:
        try:
            filters = self._filters()
            inverted = inverted_range(self.since_filter, self.until_filter)
        except ValueError:
            self.filter_error = "Enter dates as YYYY-MM-DD."
            self.loading = False
            return None
        if inverted:
            self.filter_error, self.loading = inverted, False
            return None
        self.filter_error = ""
        params: dict[str, Any] = {"limit": AUDIT_PAGE, "offset": self.offset, **filters}
        self.loading = True
        try:
            page = await self._api("GET", "/api/admin/audit", params=params)
        except api.ApiError as e:
            self.loading = False
            if e.status == 400:  # a filter the API refuses (e.g. an unknown email): say so
                self.filter_error = without_field(e.detail)
                return None
            self.error = e.detail
            return self._after_error(e)
        self.csv_url = media.issue_audit_csv(self._token, filters)
        self.events = [audit_row(e, self._emails) for e in page.get("items", [])]
        self.total = int(page.get("total", 0))
        self.loading, self.error = False, ""
        return None

    @rx.event
    async def load(self) -> Any:
        self.current_page = "admin-audit"
        self._emails = {}
        self.filter_error = ""
        self.loading = True
        yield
        if (r := await self._load_choices()) is not None:
            yield r
            return
        if (r := await self._refresh()) is not None:
            yield r

    @rx.event
    async def filter(self, form: dict[str, Any]) -> Any:
        self.action_filter, self.offset = str(form.get("action", "")), 0
        self.user_filter = str(form.get("user_email", ""))
        self.case_filter = str(form.get("case_id", ""))
        self.since_filter = str(form.get("since", ""))
        self.until_filter = str(form.get("until", ""))
        return await self._refresh()

    @rx.event
    async def next_page(self) -> Any:
        if self.offset + AUDIT_PAGE < self.total:
            self.offset += AUDIT_PAGE
        return await self._refresh()

    @rx.event
    async def prev_page(self) -> Any:
        self.offset = max(0, self.offset - AUDIT_PAGE)
        return await self._refresh()
