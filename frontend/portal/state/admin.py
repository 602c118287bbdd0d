"""Admin: users (create, change role, deactivate), the dashboard and the audit log."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt, media
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

    @rx.event
    async def change_role(self, user_id: int, role: str) -> Any:
        if role not in ROLES:
            return None
        email = next((u.email for u in self.users if u.id == user_id), str(user_id))
        return await self._patch(user_id, {"role": role}, f"{email} is now {role}.")

    @rx.event
    async def set_active(self, user_id: int, active: bool) -> Any:
        email = next((u.email for u in self.users if u.id == user_id), str(user_id))
        verb = "reactivated" if active else "deactivated"
        return await self._patch(user_id, {"is_active": bool(active)}, f"{email} {verb}.")


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
        except ValueError:
            self.export_error = "Enter dates as YYYY-MM-DD."
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


class AuditState(AuthState):
    page_roles: ClassVar[tuple[str, ...]] = ADMINS
    events: list[AuditRow] = rx.field(default_factory=list)
    total: int = 0
    offset: int = 0
    action_filter: str = ""
    user_filter: str = ""
    case_filter: str = ""
    since_filter: str = ""
    until_filter: str = ""
    filter_error: str = ""
    csv_url: str = ""  # /media/<ticket> for audit.csv with the current filters
    loading: bool = False
    error: str = ""
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
        """The API's audit filters (raises ValueError for a bad user id or date)."""
        filters: dict[str, Any] = {}
        if self.action_filter.strip():
            filters["action"] = self.action_filter.strip()
        if self.user_filter.strip():
            filters["user_id"] = int(self.user_filter.strip())
        if self.case_filter.strip():
            filters["case_id"] = self.case_filter.strip()
        if (since := _iso_date(self.since_filter)) is not None:
            filters["since"] = since
        if (until := _iso_date(self.until_filter, end=True)) is not None:
            filters["until"] = until
        return filters

    async def _refresh(self) -> Any:
        try:
            filters = self._filters()
        except ValueError:
            self.filter_error = "The user id must be a number and dates YYYY-MM-DD."
            self.loading = False
            return None
        self.filter_error = ""
        params: dict[str, Any] = {"limit": AUDIT_PAGE, "offset": self.offset, **filters}
        self.csv_url = media.issue_audit_csv(self._token, filters)
        self.loading = True
        try:
            page = await self._api("GET", "/api/admin/audit", params=params)
        except api.ApiError as e:
            self.loading, self.error = False, e.detail
            return self._after_error(e)
        if not self._emails:
            try:
                users = await self._api("GET", "/api/admin/users", params={"limit": 100})
                self._emails = {int(u["id"]): str(u["email"]) for u in users.get("items", [])}
            except (api.ApiError, KeyError, TypeError, ValueError):
                pass  # ids are shown instead
        self.events = [audit_row(e, self._emails) for e in page.get("items", [])]
        self.total = int(page.get("total", 0))
        self.loading, self.error = False, ""
        return None

    @rx.event
    async def load(self) -> Any:
        self.current_page = "admin-audit"
        self._emails = {}
        self.loading = True
        yield
        if (r := await self._refresh()) is not None:
            yield r

    @rx.event
    async def filter(self, form: dict[str, Any]) -> Any:
        self.action_filter, self.offset = str(form.get("action", "")), 0
        self.user_filter = str(form.get("user_id", ""))
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
