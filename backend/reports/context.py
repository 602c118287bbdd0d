"""What every report of a case says, gathered once: the case, its latest review's outcome and
the wording shared by the PDF, FHIR and DICOM renderings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.cases.models import Case
from backend.cases.service import visible_case
from backend.http.auth import Principal
from backend.http.errors import Conflict
from backend.platform.db import utcnow
from backend.reviews import repository as reviews_repo
from backend.reviews.outcome import ReviewOutcome, outcome_of, zone_dict
from inference.sides import PATIENT_ZONES

DISCLAIMER = ("Decision support only, not a diagnosis: these findings were produced by a "
              "machine-learning model and must be confirmed by a qualified clinician.")
SIDE_NOTE = "Sides are the patient's: 'right' is the patient's right."


def zone_label(zone: str) -> str:
    """'patient_right_upper' -> "patient's right upper"."""
    _, side, level = zone.split("_")
    return f"patient's {side} {level}"


@dataclass(frozen=True)
class ReportData:
    case: Case
    outcome: ReviewOutcome
    generated_at: datetime

    @property
    def model_label(self) -> str:
        return f"{self.case.model_name or 'model'} {self.case.model_version or ''}".strip()

    @property
    def model_flags(self) -> dict[str, bool]:
        return zone_dict(self.case.zone_flags) or dict.fromkeys(PATIENT_ZONES, False)

    @property
    def final_flags(self) -> dict[str, bool]:
        """The reviewer's flags when known, else the model's."""
        return self.outcome.zone_flags or self.model_flags

    @property
    def findings_heading(self) -> str:
        return {"edited": "Findings (edited by the reviewer)",
                "accepted": "Findings (accepted by the reviewer)",
                "rejected": "Findings (REJECTED by the reviewer: do not use)",
                }.get(self.outcome.state, "Findings (model, not yet reviewed)")

    @property
    def review_line(self) -> str:
        o = self.outcome
        if o.review is None:
            return "Not reviewed yet (preliminary)."
        when = o.review.created_at.strftime("%Y-%m-%d %H:%M UTC")
        line = f"{o.state.capitalize()} by {o.reviewer_name or 'a reviewer'} at {when}."
        return f"{line} Comment: {o.review.comment}" if o.review.comment else line


async def load_report(db: AsyncSession, user: Principal, case_id: str) -> ReportData:
    """The case's report data; 404 for a case the user may not see, 409 until it is done."""
    case = await visible_case(db, user, case_id)
    if case.status == "out_of_scope":
        raise Conflict(f"This film is out of scope, so there is no report: {case.scope_reason}")
    if case.status != "done":
        raise Conflict(f"The report is available once the model has finished; this case is "
                       f"{case.status}.")
    latest = (await reviews_repo.latest_for_cases(db, [case.id])).get(case.id)
    outcome = outcome_of(case, *latest) if latest else outcome_of(case, None)
    return ReportData(case, outcome, utcnow())
