"""Reviews are appended, never overwritten: the case keeps its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from backend.platform.db import utcnow


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=32)
    reviewer_id: int = Field(foreign_key="users.id", index=True)
    decision: str = Field(max_length=10)  # a ReviewDecision, stored as its string
    findings_text: str | None = Field(default=None, max_length=500)
    comment: str | None = Field(default=None, max_length=2000)
    # the reviewer's corrected zone flags, beside (never over) the model's Case.zone_flags
    zone_flags: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)
