"""A case: one uploaded image, its job state and the model's latest result."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from backend.cases.enums import CaseStatus, Priority
from backend.platform.db import utcnow
from backend.reviews.enums import ReviewState


def new_case_id() -> str:
    return uuid.uuid4().hex


class Case(SQLModel, table=True):
    """status, priority and review_state hold the values of CaseStatus, Priority and
    ReviewState, stored as plain strings (no database enum type, no migration per new value)."""

    __tablename__ = "cases"
    id: str = Field(default_factory=new_case_id, primary_key=True, max_length=32)
    owner_id: int = Field(foreign_key="users.id", index=True)
    status: str = Field(default=CaseStatus.QUEUED, index=True, max_length=12)
    priority: str = Field(default=Priority.ROUTINE, max_length=12)
    priority_reason: str | None = Field(default=None, max_length=500)  # required for stat
    patient_ref: str | None = Field(default=None, max_length=64, index=True)
    age: int | None = None
    sex: str | None = Field(default=None, max_length=1)
    acquired_at: datetime | None = None
    notes: str | None = Field(default=None, max_length=2000)
    original_filename: str = Field(default="", max_length=255)
    source_format: str = Field(default="", max_length=10)
    content_sha256: str = Field(default="", max_length=64)
    width: int | None = None
    height: int | None = None
    image_key: str = Field(default="", max_length=255)
    mask_key: str | None = Field(default=None, max_length=255)
    overlay_key: str | None = Field(default=None, max_length=255)
    findings_text: str | None = Field(default=None, max_length=500)
    zone_probabilities: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    zone_flags: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    laterality: str | None = Field(default=None, max_length=12)
    lesion_burden_percent: float | None = None
    # the model's image-level decision; lesion_probability only from models with a presence head
    lesion_present: bool | None = None
    lesion_probability: float | None = None
    # why the scope gate refused the film (status out_of_scope), and a reviewer's reason for
    # analysing it anyway (set: the next analysis skips the gate)
    scope_reason: str | None = Field(default=None, max_length=500)
    scope_override_reason: str | None = Field(default=None, max_length=500)
    model_name: str | None = Field(default=None, max_length=100)
    model_version: str | None = Field(default=None, max_length=50)
    # the registered version meant to produce (at upload) / that produced (worker) the result
    model_version_id: int | None = Field(default=None, foreign_key="model_versions.id", index=True)
    timings_ms: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = Field(default=None, max_length=500)
    # when `medsegtext deidentify-stored` moved the case's film (burned-in annotation) and every
    # object made from it to quarantine; the API then refuses the case (410), cache or not
    quarantined_at: datetime | None = None
    attempts: int = 0
    review_state: str = Field(default=ReviewState.UNREVIEWED, max_length=12)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
