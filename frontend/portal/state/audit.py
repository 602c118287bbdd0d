"""Admin audit log: filters, paging and the CSV export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt, media, routes
from portal.routes import Route
from portal.state.account import without_field
from portal.state.auth import AuthState
from portal.state.date_range import inverted_range, iso_date
from portal.state.fields import field
from portal.state.models import AuditRow

AUDIT_PAGE = 50


def audit_row(e: dict[str, Any], emails: dict[int, str]) -> AuditRow:
    user = e.get("user_id")
    role = e.get("role")
    name = e.get("user_email") or (
        emails.get(user, f"user {user}") if isinstance(user, int) else f"user {user}"
    )
    target = " ".join(str(p) for p in (e.get("object_type"), e.get("object_id")) if p)
    detail = e.get("detail")
    return AuditRow(
        id=int(e.get("id") or 0),
        at=fmt.when(e.get("at")),
        user=(name + (f" ({role})" if role else "")) if user is not None else "—",
        action=str(e.get("action", "")),
        target=target or "—",
        client=fmt.text(e.get("client_addr")) or "—",
        detail=json.dumps(detail, sort_keys=True) if detail else "",
    )


@dataclass
class ActionOption:
    """One audit action for the filter's list: its name and what it records."""

    name: str = ""
    label: str = ""


def action_option(a: dict[str, Any]) -> ActionOption:
    name, description = str(a.get("name", "")), str(a.get("description") or "")
    return ActionOption(name=name, label=f"{name} · {description}" if description else name)


class AuditState(AuthState):
    route: ClassVar[Route] = routes.AUDIT
    events: list[AuditRow] = field(list)
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
    actions: list[ActionOption] = field(list)  # the API's action names
    user_emails: list[str] = field(list)  # suggestions for the email box
    _emails: dict[int, str] = field(dict)  # user id -> email ("Who")

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
        if (since := iso_date(self.since_filter)) is not None:
            filters["since"] = since
        if (until := iso_date(self.until_filter, end=True)) is not None:
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
        self.current_page = routes.AUDIT.name
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
