"""Review bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from backend.accounts.models import User
from backend.reviews.models import Review


class ReviewIn(msgspec.Struct):
    decision: Literal["accept", "edit", "reject"]
    findings_text: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    comment: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


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

    @classmethod
    def of(cls, r: Review, reviewer: User | None = None) -> ReviewOut:
        assert r.id is not None
        name = (reviewer.full_name or reviewer.email) if reviewer else None
        return cls(r.id, r.case_id, r.reviewer_id, name, r.decision, r.findings_text, r.comment,
                   r.created_at)
