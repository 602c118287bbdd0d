"""The worklist: cases the user may see, filtered and paged, refreshed live while jobs run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import reflex as rx

from portal import api, fmt, signed_off
from portal.state.auth import AuthState
from portal.state.models import CaseRow

POLL_SECONDS = 2.0
POLL_MAX_SECONDS = 30 * 60  # a forgotten tab stops polling eventually
PAGE_SIZE = 20
ALL = "all"


def case_row(c: dict[str, Any]) -> CaseRow:
    status = str(c.get("status", ""))
    age, sex = c.get("age"), c.get("sex")
    age_sex = " ".join(p for p in (f"{age} y" if age is not None else "", sex or "") if p)
    reviewer = c.get("reviewer_name") or c.get("last_reviewer_name") or ""
    label, findings, struck = signed_off.worklist_cell(c)
    return CaseRow(
        id=str(c.get("id", "")),
        short_id=str(c.get("id", ""))[:8],
        status=status,
        priority=str(c.get("priority", "")),
        review_state=str(c.get("review_state", "")),
        reviewer=str(reviewer),
        patient=str(c.get("patient_ref") or "—"),
        age_sex=age_sex or "—",
        filename=str(c.get("original_filename") or ""),
        summary=findings, findings_label=label, findings_struck=struck,
        uploaded=fmt.when(c.get("created_at")),
        uploaded_ago=fmt.ago(c.get("created_at")),
        triage=str(c.get("triage_reason") or ""),
    )


class WorklistState(AuthState):
    rows: list[CaseRow] = rx.field(default_factory=list)
    total: int = 0
    offset: int = 0
    status_filter: str = ALL
    priority_filter: str = ALL
    review_filter: str = ALL
    sort: str = "triage"  # the API's default: triage score, then oldest first
    query: str = ""
    loading: bool = False
    loaded: bool = False
    error: str = ""
    live: bool = False  # a background refresh is running
    _poll_started: float = 0.0

    @rx.var
    def range_text(self) -> str:
        return fmt.page_range(self.offset, self.total, PAGE_SIZE, "No cases")

    @rx.var
    def has_prev(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.total

    @rx.var
    def filtered(self) -> bool:
        return (self.query != "" or self.status_filter != ALL or self.priority_filter != ALL
                or self.review_filter != ALL)

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": self.offset}
        if self.sort:
            params["sort"] = self.sort
        for key, value in (("status", self.status_filter), ("priority", self.priority_filter),
                           ("review_state", self.review_filter)):
            if value != ALL:
                params[key] = value
        if self.query.strip():
            params["q"] = self.query.strip()
        return params

    def _apply(self, page: dict[str, Any]) -> None:
        self.rows = [case_row(c) for c in page.get("items", [])]
        self.total = int(page.get("total", 0))
        self.error = ""
        self.loaded = True

    def _active(self) -> bool:
        return any(r.status in fmt.ACTIVE_STATUSES for r in self.rows)

    async def _fetch(self) -> Any:
        self.loading = True
        yield
        try:
            self._apply(await self._api("GET", "/api/cases", params=self._params()))
        except api.ApiError as e:
            self.loading = False
            self.error = e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.loading = False
        if self._active() and not self.live:
            yield WorklistState.poll

    @rx.event
    async def load(self) -> Any:
        self.current_page = "worklist"
        async for update in self._fetch():
            yield update

    @rx.event
    async def set_status_filter(self, value: str) -> Any:
        self.status_filter, self.offset = value, 0
        async for update in self._fetch():
            yield update

    @rx.event
    async def set_priority_filter(self, value: str) -> Any:
        self.priority_filter, self.offset = value, 0
        async for update in self._fetch():
            yield update

    @rx.event
    async def set_review_filter(self, value: str) -> Any:
        self.review_filter, self.offset = value, 0
        async for update in self._fetch():
            yield update

    @rx.event
    async def set_sort(self, value: str) -> Any:
        self.sort, self.offset = value, 0
        async for update in self._fetch():
            yield update

    @rx.event
    async def search(self, form: dict[str, Any]) -> Any:
        self.query, self.offset = str(form.get("q", "")), 0
        async for update in self._fetch():
            yield update

    @rx.event
    async def clear_filters(self) -> Any:
        self.query = ""
        self.status_filter = self.priority_filter = self.review_filter = ALL
        self.offset = 0
        yield rx.set_value("worklist-search", "")
        async for update in self._fetch():
            yield update

    @rx.event
    async def next_page(self) -> Any:
        if self.offset + PAGE_SIZE < self.total:
            self.offset += PAGE_SIZE
            async for update in self._fetch():
                yield update

    @rx.event
    async def prev_page(self) -> Any:
        if self.offset > 0:
            self.offset = max(0, self.offset - PAGE_SIZE)
            async for update in self._fetch():
                yield update

    @rx.event(background=True)
    async def poll(self) -> None:
        """Refresh every POLL_SECONDS while a listed case is queued or running and the
        worklist is the page on screen."""
        async with self:
            if self.live:
                return
            self.live = True
            self._poll_started = time.monotonic()
        try:
            while True:
                await asyncio.sleep(POLL_SECONDS)
                async with self:
                    if (self.current_page != "worklist" or not self._token
                            or time.monotonic() - self._poll_started > POLL_MAX_SECONDS):
                        return
                    token, params = self._token, self._params()
                try:
                    page = await api.call("GET", "/api/cases", token, params=params)
                except api.ApiError as e:
                    async with self:
                        self.error = e.detail
                        if e.unauthenticated:
                            return
                    continue
                async with self:
                    if self.current_page != "worklist" or params != self._params():
                        continue  # the user changed the view meanwhile; its own load applies
                    self._apply(page)
                    if not self._active():
                        return
        finally:
            async with self:
                self.live = False
