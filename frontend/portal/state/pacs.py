"""PACS: search the hospital's PACS and import studies (reviewers and admins).

The search (GET /api/pacs/studies) is by patient ID, accession number or a date range; each
study found has an Import button (POST /api/pacs/imports), which has the PACS send its films to
the DICOM node, where each frontal chest film becomes a case in the worklist. An import waits
for the PACS to finish sending, hence the longer timeout.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import reflex as rx

from portal import api, routes
from portal.routes import Route
from portal.state.auth import AuthState
from portal.state.fields import field
from portal.state.models import StudyRow

IMPORT_TIMEOUT = httpx.Timeout(120.0, connect=5.0)
FIELDS = ("patient_id", "accession_number", "date_from", "date_to")


def study_row(s: dict[str, Any]) -> StudyRow:
    count = s.get("instances")
    return StudyRow(
        uid=str(s.get("study_instance_uid", "")),
        patient_id=str(s.get("patient_id") or "—"),
        accession=str(s.get("accession_number") or "—"),
        date=str(s.get("study_date") or "—"),
        description=str(s.get("study_description") or "—"),
        modalities=", ".join(str(m) for m in s.get("modalities") or []) or "—",
        instances="—" if count is None else str(count),
    )


class PacsState(AuthState):
    route: ClassVar[Route] = routes.PACS
    studies: list[StudyRow] = field(list)
    searched: bool = False  # a search has answered (an empty table then means none found)
    more: bool = False
    loading: bool = False
    error: str = ""
    message: str = ""
    importing: str = ""  # the study being imported

    @rx.event
    def load(self) -> None:
        self.current_page = routes.PACS.name
        self.error = self.message = self.importing = ""
        self.loading = False

    @rx.event
    async def search(self, form: dict[str, Any]) -> Any:
        params = {k: str(form.get(k) or "").strip() for k in FIELDS}
        params = {k: v for k, v in params.items() if v}
        self.message = ""
        if not params:
            self.error = "Give a patient ID, an accession number or a date."
            yield rx.set_focus("pacs-patient-id")
            return
        self.loading, self.error = True, ""
        yield
        try:
            found = await self._api("GET", "/api/pacs/studies", params=params)
        except api.ApiError as e:
            self.loading, self.error, self.studies, self.searched = False, e.detail, [], False
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.studies = [
            study_row(s) for s in (found or {}).get("studies", []) if isinstance(s, dict)
        ]
        self.more = bool((found or {}).get("more"))
        self.loading, self.searched = False, True

    @rx.event
    async def import_study(self, uid: str) -> Any:
        if self.importing:
            return
        self.importing, self.error, self.message = uid, "", ""
        yield
        try:
            done = await self._api(
                "POST",
                "/api/pacs/imports",
                timeout=IMPORT_TIMEOUT,
                json={"study_instance_uid": uid},
            )
        except api.ApiError as e:
            self.importing, self.error = "", e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        outcome = str((done or {}).get("detail", ""))
        made = int((done or {}).get("cases") or 0)
        for row in self.studies:
            if row.uid == uid:
                row.outcome, row.imported = outcome, made > 0
        self.studies = list(self.studies)
        self.importing, self.message = "", outcome
