"""Review bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from backend.accounts.models import User
from backend.reviews.models import Review
from inference.sides import PATIENT_ZONES


class ZoneFlagsIn(msgspec.Struct, forbid_unknown_fields=True):
    """The reviewer's six zone flags, named by the patient's side."""

    patient_right_upper: bool
    patient_right_middle: bool
    patient_right_lower: bool
    patient_left_upper: bool
    patient_left_middle: bool
    patient_left_lower: bool

    def as_dict(self) -> dict[str, bool]:
        return {name: bool(getattr(self, name)) for name in PATIENT_ZONES}


class ReviewIn(msgspec.Struct):
    """edit needs findings_text or zone_flags (the text is then rendered from the flags);
    accept may repeat the model's flags but not change them; reject may give corrected flags."""

    decision: Literal["accept", "edit", "reject"]
    findings_text: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    comment: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    zone_flags: ZoneFlagsIn | None = None


@dataclass
class ReviewOut:
    id: int
    case_id: str
    reviewer_id: int
    reviewer_name: str | None
    decision: str
    findings_text: str | None
    comment: str | None
    created_at: datetime
    zone_flags: dict[str, bool] | None = None  # the reviewer's corrected flags, if given

    @classmethod
    def of(cls, r: Review, reviewer: User | None = None) -> ReviewOut:
        assert r.id is not None
        name = (reviewer.full_name or reviewer.email) if reviewer else None
        return cls(r.id, r.case_id, r.reviewer_id, name, r.decision, r.findings_text, r.comment,
                   r.created_at, r.zone_flags)
