"""One case: results, image links (through portal/media.py tickets), review panel, history."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt, media, routes, signed_off
from portal.case_json import model_output
from portal.routes import Route
from portal.state import polling
from portal.state.auth import AuthState, requires
from portal.state.case_view import (
    DECISION_STATES,
    NOTHING_EDITED,
    case_id_from_path,
    review_body,
    reviewed_findings_of,
    reviews_of,
    timings_of,
    zones_of,
)
from portal.state.fields import field
from portal.state.models import FindingsView, ReviewRow, Timing, Zone

POLL_SECONDS = 2.0
POLL_MAX_SECONDS = 15 * 60
BROWSER_FORMATS = ("png", "jpeg", "jpg")


class CaseState(AuthState):
    route: ClassVar[Route] = routes.CASE
    case_id: str = ""
    loading: bool = False
    error: str = ""  # the case could not be loaded (e.g. not found)
    status: str = ""
    priority: str = ""
    review_state: str = ""
    patient_ref: str = ""
    age_sex: str = ""
    acquired: str = ""
    notes: str = ""
    filename: str = ""
    source_format: str = ""
    dimensions: str = ""
    uploaded: str = ""
    finished: str = ""
    findings: str = ""
    reviewed_findings: str = ""  # the latest edit, if any
    findings_view: FindingsView = field(FindingsView)  # signed-off first
    laterality: str = ""
    burden: str = ""
    model: str = ""
    case_error: str = ""
    scope_reason: str = ""  # status out_of_scope: why the film was not analysed
    scope_override_reason: str = ""  # a reviewer had it analysed anyway, and why
    override_reason: str = ""  # the reviewer's reason, being typed
    override_error: str = ""
    triage_reason: str = ""
    triage_score: str = ""
    reviewed_zones: str = ""  # the reviewers' corrected zone flags, in words, if they differ
    # downloads (relative /media/<ticket> URLs; DICOM exports only for DICOM uploads)
    pdf_url: str = ""
    fhir_url: str = ""
    seg_url: str = ""
    sr_url: str = ""
    _model_flags: dict[str, bool] = field(dict)
    _reviewed_flags: dict[str, bool] = field(dict)
    zones: list[Zone] = field(list)
    timings: list[Timing] = field(list)
    reviews: list[ReviewRow] = field(list)
    # the film and its lesion mask (relative /media/<ticket> URLs); how they are shown (layers,
    # window/level, zoom) is the browser's alone (assets/viewer.js)
    base_src: str = ""
    mask_src: str = ""
    live: bool = False
    # the API says the uploaded film is gone from the object store: no image, no review
    image_missing: bool = False
    # review panel
    decision: str = "accept"
    review_findings: str = ""
    # the zone flags the reviewer submits with edit or reject
    review_flags: dict[str, bool] = field(dict)
    review_comment: str = ""
    review_busy: bool = False
    review_error: str = ""
    review_done: str = ""

    @rx.var
    def is_done(self) -> bool:
        return self.status == "done"

    @rx.var
    def is_active(self) -> bool:
        return self.status in fmt.ACTIVE_STATUSES

    def _apply(self, c: dict[str, Any]) -> None:
        self.status = str(c.get("status", ""))
        self.image_missing = bool(c.get("image_missing"))
        self.priority = str(c.get("priority", ""))
        self.review_state = str(c.get("review_state", ""))
        self.patient_ref = fmt.text(c.get("patient_ref"))
        age, sex = c.get("age"), c.get("sex")
        self.age_sex = " ".join(p for p in (f"{age} y" if age is not None else "", sex or "") if p)
        self.acquired = fmt.when(c.get("acquired_at"))
        self.notes = fmt.text(c.get("notes"))
        self.filename = fmt.text(c.get("original_filename"))
        self.source_format = fmt.text(c.get("source_format")).lower()
        output = model_output(c)  # what the model said, typed
        w, h = output.width, output.height
        self.dimensions = f"{w} × {h}" if w and h else ""
        self.uploaded = fmt.when(c.get("created_at"))
        self.finished = fmt.when(c.get("finished_at"))
        self.findings = fmt.text(output.findings_text)
        self.findings_view = signed_off.findings_view(c)
        self.laterality = fmt.laterality(output.laterality)
        self.scope_reason = fmt.text(output.scope_reason)
        self.scope_override_reason = fmt.text(c.get("scope_override_reason"))
        self.burden = fmt.percent(output.lesion_burden_percent, 2)
        name, version = output.model_name, output.model_version
        self.model = " ".join(str(p) for p in (name, version and f"v{version}") if p)
        self.case_error = fmt.text(c.get("error"))
        self.zones = zones_of(output.zone_probabilities, output.zone_flags)
        self.triage_reason = fmt.text(c.get("triage_reason"))
        score = c.get("triage_score")
        self.triage_score = str(score) if isinstance(score, int | float) else ""
        self._model_flags = output.zone_flags or dict.fromkeys(fmt.ZONE_KEYS, False)
        reviewed_flags = fmt.zone_flags(c.get("reviewed_zone_flags"))
        self._reviewed_flags = reviewed_flags or dict(self._model_flags)
        self.reviewed_zones = (
            fmt.flagged_zones(reviewed_flags)
            if reviewed_flags and reviewed_flags != self._model_flags
            else ""
        )
        self.timings = timings_of(c)
        self.reviews = reviews_of(c, self._model_flags)
        self.reviewed_findings = reviewed_findings_of(c)

    def _ticket(self, current: str, kind: str) -> str:
        """Keep a still-valid link: the viewer holds its pixels, and a new link would make it
        load them again (every load is a one-time ticket and an audited download)."""
        if media.valid(current, self._token, self.case_id, kind):
            return current
        return media.issue(self._token, self.case_id, kind)

    def _issue_media(self, c: dict[str, Any]) -> None:
        done = self.status == "done"
        self.mask_src = (
            self._ticket(self.mask_src, "mask") if done and c.get("has_mask", True) else ""
        )
        # browsers cannot show DICOM: the API renders the upload as a PNG preview
        kind = "image" if self.source_format in BROWSER_FORMATS else "preview"
        self.base_src = "" if self.image_missing else self._ticket(self.base_src, kind)
        # reports exist once the case is done; DICOM SEG/SR only for DICOM uploads
        dicom = done and self.source_format == "dicom"
        self.pdf_url = self._ticket(self.pdf_url, "report.pdf") if done else ""
        self.fhir_url = self._ticket(self.fhir_url, "report.fhir.json") if done else ""
        self.seg_url = self._ticket(self.seg_url, "seg.dcm") if dicom else ""
        self.sr_url = self._ticket(self.sr_url, "sr.dcm") if dicom else ""

    def _reset_view(self) -> None:
        self.error = ""
        self.status = ""
        self.base_src = self.mask_src = ""
        self.pdf_url = self.fhir_url = self.seg_url = self.sr_url = ""
        self.zones, self.timings, self.reviews = [], [], []
        self.decision, self.review_comment, self.review_error, self.review_done = (
            "accept",
            "",
            "",
            "",
        )

    async def _fetch(self) -> Any:
        try:
            c = await self._api("GET", f"/api/cases/{self.case_id}")
        except api.ApiError as e:
            self.loading = False
            self.error = e.detail
            return self._after_error(e)
        self._apply(c)
        self._issue_media(c)
        self._reset_review_inputs()
        self.loading = False
        return None

    def _reset_review_inputs(self) -> None:
        self.review_findings = self.reviewed_findings or self.findings
        self.review_flags = dict(self._reviewed_flags)

    @rx.event
    async def load(self) -> Any:
        self.current_page = routes.CASE.name
        case_id = case_id_from_path(self.router.url.path)
        if case_id != self.case_id:
            self._reset_view()
        self.case_id = case_id
        if not case_id:
            self.error = "No case was named in the address."
            return
        self.loading = True
        yield
        if (r := await self._fetch()) is not None:
            yield r
            return
        if self.status in fmt.ACTIVE_STATUSES:
            yield CaseState.poll

    @rx.event
    def set_decision(self, value: str) -> None:
        if value in DECISION_STATES:
            self.decision = value
            self.review_error = ""

    @rx.event
    def set_review_findings(self, value: str) -> None:
        self.review_findings = value

    @rx.event
    def set_review_flag(self, key: str, value: bool) -> None:
        if key in fmt.ZONE_KEYS:
            self.review_flags = {**self.review_flags, key: bool(value)}
            self.review_error = ""

    @rx.event
    def reset_review_flags(self) -> None:
        self.review_flags = dict(self._model_flags)

    @rx.event
    def set_review_comment(self, value: str) -> None:
        self.review_comment = value

    def set_override_reason(self, value: str) -> None:
        self.override_reason = value[:500]

    @rx.event
    @requires(routes.REVIEW_CASES)
    async def override_scope(self) -> Any:
        """'Analyse anyway': the out-of-scope film is queued again, past the scope gate."""
        reason = self.override_reason.strip()
        if not reason:
            self.override_error = "Say why this is a frontal chest film."
            return
        try:
            await self._api(
                "POST", f"/api/cases/{self.case_id}/scope-override", json={"reason": reason}
            )
        except api.ApiError as e:
            self.override_error = e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.override_reason, self.override_error = "", ""
        if (r := await self._fetch()) is not None:
            yield r
            return
        if self.status in fmt.ACTIVE_STATUSES:
            yield CaseState.poll

    @rx.event
    @requires(routes.REVIEW_CASES)
    async def submit_review(self) -> Any:
        if self.review_busy:
            return
        body = review_body(
            self.decision,
            self.review_comment,
            self.review_findings,
            self.review_flags,
            model_flags=self._model_flags,
            reviewed_flags=self._reviewed_flags,
            shown_text=self.reviewed_findings or self.findings,
        )
        if body is None:
            self.review_error = NOTHING_EDITED
            yield rx.set_focus("review-findings")
            return
        self.review_busy, self.review_error, self.review_done = True, "", ""
        yield
        try:
            await self._api("POST", f"/api/cases/{self.case_id}/review", json=body)
        except api.ApiError as e:
            self.review_busy = False
            self.review_error = e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.review_done = f"Review saved: {DECISION_STATES[self.decision]}."
        self.review_comment = ""
        self.review_busy = False
        if (r := await self._fetch()) is not None:
            yield r

    def _polled_case(self) -> str | None:
        return self.case_id or None

    def _show_polled(self, case_id: str, c: dict[str, Any]) -> bool:
        """A polled answer; the loop goes on while the analysis runs."""
        if self.case_id != case_id:
            return False
        self._apply(c)
        if self.status in fmt.ACTIVE_STATUSES:
            return True
        self._issue_media(c)
        self._reset_review_inputs()
        return False

    @rx.event(background=True)
    async def poll(self) -> None:
        """Follow the case every POLL_SECONDS until its analysis ends."""
        await polling.poll(
            self,
            every=POLL_SECONDS,
            most=POLL_MAX_SECONDS,
            page=routes.CASE.name,
            ask=self._polled_case,
            fetch=polling.get_case,
            apply=self._show_polled,
        )
