"""The worklist: cases the user may see, filtered and paged as its URL says, kept live by
polling, with an alert for new STAT, urgent or abnormal cases."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import reflex as rx

from portal import api, fmt, media, routes, signed_off
from portal.case_json import model_output
from portal.routes import Route
from portal.state import polling
from portal.state.auth import AuthState
from portal.state.fields import field
from portal.state.models import AlertRow, CaseRow
from portal.worklist_query import (
    ALL,
    DEFAULT_SORT,
    MAX_QUERY,
    PAGE_SIZE,
    View,
    alert_reason,
    parse,
)

POLL_SECONDS = 2.0
POLL_IDLE_SECONDS = 30 * 60  # a forgotten tab stops polling; any action on the page resumes it
WATCH_LIMIT = 50  # new cases looked at for alerts, newest first
# Shows the address's search in the box, unless the user is typing there (box focused).
SHOW_SEARCH = (
    "(q => {{ const box = document.getElementById('worklist-search');"
    " if (box && box !== document.activeElement) box.value = q; }})({})"
)


def case_row(c: dict[str, Any]) -> CaseRow:
    status = str(c.get("status", ""))
    age, sex = c.get("age"), c.get("sex")
    age_sex = " ".join(p for p in (f"{age} y" if age is not None else "", sex or "") if p)
    reviewer = c.get("reviewer_name") or c.get("last_reviewer_name") or ""
    label, findings, struck = signed_off.worklist_cell(c)
    output = model_output(c)
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
        summary=findings,
        findings_label=label,
        findings_struck=struck,
        uploaded=fmt.when(c.get("created_at")),
        uploaded_ago=fmt.ago(c.get("created_at")),
        triage=str(c.get("triage_reason") or ""),
        probability=fmt.fraction(output.lesion_probability),
        abnormal=output.lesion_present is True,
    )


class WorklistState(AuthState):
    route: ClassVar[Route] = routes.WORKLIST
    rows: list[CaseRow] = field(list)
    total: int = 0
    offset: int = 0
    status_filter: str = ALL
    priority_filter: str = ALL
    review_filter: str = ALL
    sort: str = DEFAULT_SORT
    query: str = ""
    loading: bool = False
    loaded: bool = False
    error: str = ""
    live: bool = False  # the polling loop runs
    paused: bool = False  # it stopped after POLL_IDLE_SECONDS without an action on the page
    refreshed: str = ""  # when the list was last fetched
    alerts: list[AlertRow] = field(list)
    _acted_at: float = 0.0
    # The addresses this tab's picks navigated to whose loads have not all come back yet, after
    # the address the first of them left; the last is the latest pick (see load).
    _pushed: list[str] = field(list)
    _thumbs: dict[str, str] = field(dict)  # case id -> its thumbnail link
    # The alert watch: cases created after the worklist was first opened in this tab, by the
    # API's clock (the newest case's created_at then), whatever the filters.
    _watch_user: int = 0  # whose watch it is (0: not started)
    _watch_from: str = ""  # '' when there was no case at all
    _watch_known: list[str] = field(list)  # that newest case (not new)
    _dismissed: dict[str, str] = field(dict)  # case id -> reason dismissed

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
        return self._view().filtered

    def _view(self) -> View:
        return View(
            self.status_filter,
            self.priority_filter,
            self.review_filter,
            self.sort,
            self.query,
            self.offset // PAGE_SIZE + 1,
        )

    def _show_view(self, view: View) -> None:
        self.status_filter, self.priority_filter = view.status, view.priority
        self.review_filter, self.sort = view.review, view.sort
        self.query, self.offset = view.q, view.offset

    def _go(self, view: View) -> Any:
        """Show the view at once and navigate to its URL; that page load fetches it. Through
        the URL and back, so the view shown is the one a reload of that URL shows."""
        view = parse(dict(parse_qsl(urlsplit(view.url()).query)))
        self._pushed = [*(self._pushed or [self._view().url()]), view.url()]
        self._show_view(view)
        self._acted_at = time.monotonic()
        return rx.redirect(view.url())

    def _params(self) -> dict[str, Any]:
        return self._view().api_params()

    def _apply(self, page: dict[str, Any]) -> None:
        rows = [case_row(c) for c in page.get("items", [])]
        thumbs = {}
        for r in rows:  # a still-valid link keeps the <img> as it is: no new download
            link = self._thumbs.get(r.id, "")
            if not media.valid(link, self._token, r.id, "thumbnail"):
                link = media.issue(self._token, r.id, "thumbnail")
            r.thumb = thumbs[r.id] = link
        self._thumbs = thumbs
        self.rows = rows
        self.total = int(page.get("total", 0))
        self.error = ""
        self.loaded = True
        self.refreshed = datetime.now(UTC).strftime("%H:%M:%S UTC")

    def _watch_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"sort": "newest", "limit": WATCH_LIMIT}
        if self._watch_from:
            params["created_from"] = self._watch_from
        return params

    async def _start_watch(self) -> None:
        """Once per user and tab: note the newest case; only later ones raise alerts."""
        if self._watch_user == self.user_id:
            return
        page = await self._api("GET", "/api/cases", params={"sort": "newest", "limit": 1})
        items = [c for c in page.get("items", []) if isinstance(c, dict)]
        self._watch_from = str(items[0].get("created_at") or "") if items else ""
        self._watch_known = [str(c.get("id", "")) for c in items]
        self._watch_user = self.user_id
        self.alerts, self._dismissed = [], {}

    def _see(self, watch: dict[str, Any]) -> None:
        """Alerts: the new cases that need attention, less those dismissed for that reason
        (a STAT case dismissed comes back when the model then calls it abnormal)."""
        alerts = []
        for c in watch.get("items", []):
            case_id, reason = str(c.get("id", "")), alert_reason(c)
            if not reason or case_id in self._watch_known or self._dismissed.get(case_id) == reason:
                continue
            alerts.append(
                AlertRow(
                    id=case_id,
                    short_id=case_id[:8],
                    patient=str(c.get("patient_ref") or "no patient ref"),
                    reason=reason,
                    stat=c.get("priority") == "stat",
                    uploaded_ago=fmt.ago(c.get("created_at")),
                )
            )
        self.alerts = alerts

    async def _fetch(self) -> Any:
        self.loading = True
        yield
        try:
            await self._start_watch()
            self._apply(await self._api("GET", "/api/cases", params=self._params()))
            self._see(await self._api("GET", "/api/cases", params=self._watch_params()))
        except api.ApiError as e:
            self.loading = False
            self.error = e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.loading = False
        if not self.live:
            yield WorklistState.poll

    @rx.event
    async def load(self) -> Any:
        """The page's on_load, also after each change of view (the URL says which).

        The controls hold the latest pick: a load of an address a pick has since left (one the
        browser sent before it got to the newer address) is dropped, so it cannot put older
        filters back into the controls and lose that pick; the newer address's load follows.
        Any other address (a link, a reload, the back button) is shown as it says."""
        self.current_page = routes.WORKLIST.name
        self._acted_at, self.paused = time.monotonic(), False
        view = parse(self.router.url.query_parameters)
        if self._pushed[-1:] != [view.url()]:
            if view.url() in self._pushed:
                return
            self._show_view(view)
            yield rx.call_script(SHOW_SEARCH.format(json.dumps(self.query)))
        self._pushed = []
        async for update in self._fetch():
            yield update

    @rx.event
    def set_status_filter(self, value: str) -> Any:
        return self._go(self._view().with_(status=value))

    @rx.event
    def set_priority_filter(self, value: str) -> Any:
        return self._go(self._view().with_(priority=value))

    @rx.event
    def set_review_filter(self, value: str) -> Any:
        return self._go(self._view().with_(review=value))

    @rx.event
    def set_sort(self, value: str) -> Any:
        return self._go(self._view().with_(sort=value))

    @rx.event
    def search(self, form: dict[str, Any]) -> Any:
        return self._go(self._view().with_(q=str(form.get("q", ""))[:MAX_QUERY].strip()))

    @rx.event
    def clear_filters(self) -> Any:
        return [rx.set_value("worklist-search", ""), self._go(View(sort=self.sort))]

    @rx.event
    def next_page(self) -> Any:
        view = self._view()
        return self._go(replace(view, page=view.page + 1)) if self.has_next else None

    @rx.event
    def prev_page(self) -> Any:
        view = self._view()
        return self._go(replace(view, page=view.page - 1)) if view.page > 1 else None

    @rx.event
    def dismiss_alert(self, case_id: str) -> None:
        self._dismissed.update({a.id: a.reason for a in self.alerts if a.id == case_id})
        self.alerts = [a for a in self.alerts if a.id != case_id]

    @rx.event
    def dismiss_alerts(self) -> None:
        self._dismissed.update({a.id: a.reason for a in self.alerts})
        self.alerts = []

    @rx.event
    def resume(self) -> Any:
        self._acted_at, self.paused = time.monotonic(), False
        return WorklistState.poll

    def _polled_views(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if time.monotonic() - self._acted_at > POLL_IDLE_SECONDS:
            self.paused = True
            return None
        return self._params(), self._watch_params()

    def _show_polled(
        self,
        asked: tuple[dict[str, Any], dict[str, Any]],
        answer: tuple[dict[str, Any], dict[str, Any]],
    ) -> bool:
        if asked[0] == self._params():  # else the view changed meanwhile; its load shows it
            self._apply(answer[0])
        if asked[1] == self._watch_params():
            self._see(answer[1])
        return True

    def _poll_failed(self, e: api.ApiError) -> None:
        self.error = e.detail

    @rx.event(background=True)
    async def poll(self) -> None:
        """Refresh the page and the alerts every POLL_SECONDS while the worklist is on screen:
        new cases and status changes appear without a reload."""
        await polling.poll(
            self,
            every=POLL_SECONDS,
            page=routes.WORKLIST.name,
            ask=self._polled_views,
            fetch=_fetch_polled,
            apply=self._show_polled,
            failed=self._poll_failed,
        )


async def _fetch_polled(
    token: str, params: tuple[dict[str, Any], dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The page on screen and the new cases since the worklist was opened."""
    page = await api.call("GET", "/api/cases", token, params=params[0])
    watch = await api.call("GET", "/api/cases", token, params=params[1])
    return page, watch
