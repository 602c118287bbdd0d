"""Review bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec

from backend.accounts.models import User
from backend.cases.zones import ZoneFlags
from backend.reviews.enums import ReviewDecision
from backend.reviews.models import Review


class ReviewIn(msgspec.Struct):
    """edit needs findings_text or zone_flags (the text is then rendered from the flags);
    accept may repeat the model's flags but not change them; reject may give corrected flags."""

    decision: ReviewDecision
    findings_text: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    comment: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    zone_flags: ZoneFlags | None = None


@dataclass
class ReviewOut:
    id: int
    case_id: str
    reviewer_id: int
    reviewer_name: str | None
    decision: ReviewDecision
    findings_text: str | None
    comment: str | None
    created_at: datetime
    zone_flags: ZoneFlags | None = None  # the reviewer's corrected flags, if given

    @classmethod
    def of(cls, r: Review, reviewer: User | None = None) -> ReviewOut:
        assert r.id is not None
        name = (reviewer.full_name or reviewer.email) if reviewer else None
        return cls(
            r.id,
            r.case_id,
            r.reviewer_id,
            name,
            ReviewDecision(r.decision),
            r.findings_text,
            r.comment,
            r.created_at,
            ZoneFlags.of(r.zone_flags),
        )
