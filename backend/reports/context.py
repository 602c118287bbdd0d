"""What every report of a case says, gathered once: the case, its latest review's outcome and
the wording shared by the PDF, FHIR and DICOM renderings.

The signed-off result comes first in every report: the reviewer's findings (accepted or edited)
under "Findings (reviewed by X)"; for a rejected case a "Rejected by X — do not use" heading and
no findings; for an unreviewed one "Model output — awaiting review". The model's own text is
always kept, below, under its own label (MODEL_OUTPUT_LABELS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.principal import Principal
from backend.cases.enums import CaseStatus
from backend.cases.models import Case
from backend.cases.service import visible_case
from backend.errors import Conflict
from backend.platform.db import utcnow
from backend.reviews import repository as reviews_repo
from backend.reviews.enums import ReviewState
from backend.reviews.outcome import ReviewOutcome, outcome_of, zone_dict
from inference.sides import PATIENT_ZONES

DISCLAIMER = (
    "Decision support only, not a diagnosis: these findings were produced by a "
    "machine-learning model and must be confirmed by a qualified clinician."
)
SIDE_NOTE = "Sides are the patient's: 'right' is the patient's right."
REJECTED_NOTE = (
    "The reviewer rejected the model's output: there are no signed-off findings for this film."
)
MODEL_OUTPUT_LABELS = {
    ReviewState.ACCEPTED: "Model output",
    ReviewState.EDITED: "Model output",
    ReviewState.REJECTED: "Model output (rejected — do not use)",
    ReviewState.UNREVIEWED: "Model output (not reviewed)",
}


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
    def reviewer(self) -> str:
        return self.outcome.reviewer_name or "a reviewer"

    @property
    def findings_heading(self) -> str:
        """What the report's findings are: signed off by whom, rejected, or not yet reviewed."""
        state = self.outcome.state
        if self.outcome.is_final:
            return f"Findings (reviewed by {self.reviewer})"
        if state == ReviewState.REJECTED:
            return f"Rejected by {self.reviewer} — do not use"
        return "Model output — awaiting review"

    @property
    def signed_off_text(self) -> str | None:
        """The reviewed findings (the edit, or the model's text as accepted); None when
        nothing was signed off (unreviewed or rejected)."""
        return (self.outcome.findings_text or None) if self.outcome.is_final else None

    @property
    def model_output_label(self) -> str:
        """The label the model's own text keeps in every report, below the signed-off one."""
        return MODEL_OUTPUT_LABELS[self.outcome.state]

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
    if case.status == CaseStatus.OUT_OF_SCOPE:
        raise Conflict(f"This film is out of scope, so there is no report: {case.scope_reason}")
    if case.status != CaseStatus.DONE:
        raise Conflict(
            f"The report is available once the model has finished; this case is {case.status}."
        )
    latest = (await reviews_repo.latest_for_cases(db, [case.id])).get(case.id)
    outcome = outcome_of(case, *latest) if latest else outcome_of(case, None)
    return ReportData(case, outcome, utcnow())
