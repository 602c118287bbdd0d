"""What a case's latest review concluded, derived in one place for the case detail, reports,
the training-data export and the agreement statistics.

The reviewer's zone flags are, in order of preference: the flags the reviewer gave; the model's
flags when the reviewer accepted them; the flags parsed from the reviewer's edited sentence. A
rejection without flags says the model was wrong but not what is right: no flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.accounts.models import User
from backend.cases import sides_on_read  # noqa: F401  (old image-side rows read as patient-side)
from backend.cases.models import Case
from backend.reviews.enums import SIGNED_OFF, ReviewDecision, ReviewState
from backend.reviews.models import Review
from inference.findings import FindingsParseError
from inference.sides import (
    NOT_OUTLINED_SENTENCE,
    PATIENT_ZONES,
    parse_patient,
    stored_to_patient,
)

_ABNORMAL = NOT_OUTLINED_SENTENCE.lower().split(";")[0]  # "abnormal film"


def zone_dict(flags: dict[str, Any] | None) -> dict[str, bool] | None:
    """Six booleans keyed by the patient's side (PATIENT_ZONES), or None when the flags are
    missing or incomplete; old image-side records are read as standard-display films."""
    flags = stored_to_patient(flags)
    if not flags or any(z not in flags for z in PATIENT_ZONES):
        return None
    return {z: bool(flags[z]) for z in PATIENT_ZONES}


def reviewed_flags(
    model_flags: dict[str, Any] | None, review: Review | None
) -> dict[str, bool] | None:
    if review is None:
        return None
    given = zone_dict(review.zone_flags)
    if given is not None:
        return given
    if review.decision == ReviewDecision.ACCEPT:
        return zone_dict(model_flags)
    if review.decision == ReviewDecision.EDIT and review.findings_text:
        try:
            return parse_patient(review.findings_text)
        except FindingsParseError:
            return None
    return None


@dataclass(frozen=True)
class ReviewOutcome:
    state: ReviewState
    findings_text: str | None  # what a reader should see: the reviewer's edit, else the model's
    zone_flags: dict[str, bool] | None  # reviewer-confirmed flags; None if unknown
    review: Review | None
    reviewer_name: str | None

    @property
    def reviewed_at(self) -> datetime | None:
        return self.review.created_at if self.review else None

    @property
    def is_final(self) -> bool:
        return self.state in SIGNED_OFF

    @property
    def no_lesion(self) -> bool:
        """The reviewer signed off "no lesion": accepted or edited, every confirmed zone flag
        clear (the portal's way to say it: clear all flags, and the sentence becomes "No focal
        opacity detected."), unless the text says the film is abnormal with the lesion not
        outlined ("Abnormal film; ..."), which is not a lesion-free film."""
        if not self.is_final or self.zone_flags is None or any(self.zone_flags.values()):
            return False
        return not (self.findings_text or "").strip().lower().startswith(_ABNORMAL)


def outcome_of(case: Case, latest: Review | None, reviewer: User | None = None) -> ReviewOutcome:
    """The outcome of the case's latest review (None: not reviewed yet)."""
    text = case.findings_text
    if latest is not None and latest.decision == ReviewDecision.EDIT and latest.findings_text:
        text = latest.findings_text
    name = (reviewer.full_name or reviewer.email) if reviewer else None
    state = ReviewDecision(latest.decision).state if latest is not None else ReviewState.UNREVIEWED
    return ReviewOutcome(state, text, reviewed_flags(case.zone_flags, latest), latest, name)
