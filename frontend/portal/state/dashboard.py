"""Admin dashboard: load, model agreement and the dataset export."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt, media, routes
from portal.routes import Route
from portal.state.auth import AuthState
from portal.state.date_range import inverted_range, iso_date
from portal.state.fields import field
from portal.state.models import AgreementRow, Stat


def share(value: Any) -> str:
    return fmt.fraction(value)


def f1(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.2f}"


def agreement_row(a: dict[str, Any]) -> AgreementRow:
    name = " ".join(str(p) for p in (a.get("name"), a.get("version")) if p)
    return AgreementRow(
        model=name or "unknown",
        reviewed_cases=str(a.get("reviewed_cases", 0)),
        shown_cases=str(a.get("shown_cases", 0)),
        shadow_cases=str(a.get("shadow_cases", 0)),
        accepted_unedited=share(a.get("accepted_unedited_share")),
        rejected=share(a.get("rejected_share")),
        zone_cases=str(a.get("zone_cases", 0)),
        zone_f1=f1(a.get("zone_f1")),
        exact_match=share(a.get("exact_zone_match_share")),
    )


class DashboardState(AuthState):
    route: ClassVar[Route] = routes.DASHBOARD
    agreement: list[AgreementRow] = field(list)
    export_busy: bool = False
    export_error: str = ""
    export_message: str = ""
    export_url: str = ""  # /media/<ticket> of the last export's zip
    export_name: str = ""
    cards: list[Stat] = field(list)
    by_status: list[Stat] = field(list)
    by_review: list[Stat] = field(list)
    loading: bool = False
    error: str = ""

    @rx.event
    async def load(self) -> Any:
        self.current_page = routes.DASHBOARD.name
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
            Stat(
                "Queue depth",
                "unavailable" if queue is None else str(queue),
                "jobs waiting in Redis",
            ),
            Stat(
                "Turnaround p50",
                fmt.seconds(turnaround.get("p50_seconds")),
                f"upload to done, last {turnaround.get('cases', 0)} cases",
            ),
            Stat("Turnaround p95", fmt.seconds(turnaround.get("p95_seconds")), ""),
            Stat("Failure rate", fmt.fraction(s.get("failure_rate")), "failed / finished"),
            Stat(
                "Accepted unedited",
                fmt.fraction(s.get("accepted_unedited_share")),
                "share of reviewed cases",
            ),
        ]
        self.by_status = [Stat(k, str(v)) for k, v in (s.get("cases_by_status") or {}).items()]
        self.by_review = [Stat(k, str(v)) for k, v in (s.get("reviews_by_state") or {}).items()]
        self.agreement = [
            agreement_row(a) for a in s.get("model_agreement") or [] if isinstance(a, dict)
        ]
        self.loading, self.error = False, ""

    @rx.event
    async def export_dataset(self, form: dict[str, Any]) -> Any:
        """POST /api/admin/datasets/export; the zip goes to a temporary file that a one-off
        ticket serves, so the browser never holds the token (409: nothing to export)."""
        if self.export_busy:
            return
        body: dict[str, Any] = {}
        try:
            if (start := iso_date(str(form.get("created_from", "")))) is not None:
                body["created_from"] = start
            if (end := iso_date(str(form.get("created_to", "")), end=True)) is not None:
                body["created_to"] = end
            inverted = inverted_range(
                str(form.get("created_from", "")),
                str(form.get("created_to", "")),
                ("Uploaded from", "Uploaded to"),
            )
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
            response = await api.send(
                "POST",
                "/api/admin/datasets/export",
                self._token,
                json=body or None,
                timeout=api.UPLOAD_TIMEOUT,
                headers=self._forwarded(),
            )
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
        name = (
            disposition.split("filename=", 1)[1].strip('"; ')
            if "filename=" in disposition
            else "medsegtext-dataset.zip"
        )
        url = media.issue_file(self._token, path, "application/zip", name)
        cases, skipped = (
            response.headers.get("x-export-cases", "?"),
            response.headers.get("x-export-skipped", "0"),
        )
        self.export_busy, self.export_url, self.export_name = False, url, name
        self.export_message = f"Exported {cases} reviewed cases ({skipped} skipped) as {name}."
        yield rx.download(url=url, filename=name)
