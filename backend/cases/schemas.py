"""Case bodies: the multipart upload form and the list/detail answers. Status, priority,
review state and laterality are enums and the zones typed objects, so the OpenAPI document
lists every value and key a client can meet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.cases.enums import CaseStatus, Priority
from backend.cases.models import Case
from backend.cases.zones import ZoneFlags, ZoneProbabilities
from backend.reviews.enums import ReviewState
from backend.reviews.outcome import ReviewOutcome
from backend.reviews.schemas import ReviewOut
from backend.triage.policy import Triage
from inference.sides import Laterality

_DERIVED = frozenset(
    {"triage_score", "triage_reason", "reviewer_name", "has_preview", "reviewed_findings_text"}
)


@dataclass
class CaseSummary:
    id: str
    status: CaseStatus
    priority: Priority
    review_state: ReviewState
    owner_id: int
    patient_ref: str | None
    age: int | None
    sex: str | None
    acquired_at: datetime | None
    original_filename: str
    source_format: str
    width: int | None
    height: int | None
    findings_text: str | None
    laterality: Laterality | None  # the patient's side(s) with outlined lesion
    lesion_burden_percent: float | None
    model_version: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    triage_score: int = 0  # higher = sooner; the worklist's default order (sort=triage)
    triage_reason: str = ""  # why, for a person: "requested STAT; lesion burden 23% (high)"
    reviewer_name: str | None = None  # who made the latest review, for the worklist
    priority_reason: str | None = None  # why the uploader asked for this priority (stat: always)
    # the image-level decision (lesion_probability: models with a presence head only)
    lesion_present: bool | None = None
    lesion_probability: float | None = None
    scope_reason: str | None = None  # status out_of_scope: why the film was refused
    # once reviewed, the text a reader should see: the reviewer's edit, else the model's (with
    # review_state: accepted, edited, or rejected, when it must not be used)
    reviewed_findings_text: str | None = None

    @classmethod
    def fields_of(cls, c: Case) -> dict[str, Any]:
        return {name: getattr(c, name) for name in cls.__dataclass_fields__ if name not in _DERIVED}

    @classmethod
    def of(
        cls, c: Case, triage: Triage | None = None, outcome: ReviewOutcome | None = None
    ) -> CaseSummary:
        out = cls(**cls.fields_of(c))
        if outcome is not None:
            out.reviewer_name = outcome.reviewer_name
            out.reviewed_findings_text = outcome.findings_text
        if triage is not None:
            out.triage_score, out.triage_reason = triage.score, triage.reason
        return out


@dataclass
class CaseDetail(CaseSummary):
    notes: str | None = None
    content_sha256: str = ""
    zone_probabilities: ZoneProbabilities | None = None
    zone_flags: ZoneFlags | None = None  # the model's
    model_name: str | None = None
    model_version_id: int | None = None
    timings_ms: dict[str, float] | None = None  # per pipeline step, and "job" (the whole job)
    attempts: int = 0
    started_at: datetime | None = None
    has_mask: bool = False
    has_overlay: bool = False
    has_preview: bool = False  # GET .../preview: the upload as a PNG a browser can show
    # the uploaded film is no longer in the object store: nothing to show, no review possible
    image_missing: bool | None = False  # None: the object store could not be asked
    reviews: list[ReviewOut] = field(default_factory=list)
    # the latest review's reviewer-confirmed zone flags (None until known)
    reviewed_zone_flags: ZoneFlags | None = None
    scope_override_reason: str | None = None  # a reviewer had an out-of-scope film analysed

    @classmethod
    def detail(cls, c: Case, reviews: list[ReviewOut], triage: Triage | None = None) -> CaseDetail:
        values = {
            name: getattr(c, name)
            for name in cls.__dataclass_fields__
            if hasattr(c, name) and name not in _DERIVED
        }
        values["zone_probabilities"] = ZoneProbabilities.of(c.zone_probabilities)
        values["zone_flags"] = ZoneFlags.of(c.zone_flags)
        out = cls(
            **values,
            has_mask=bool(c.mask_key),
            has_overlay=bool(c.overlay_key),
            has_preview=bool(c.image_key),
            reviews=reviews,
            reviewer_name=reviews[-1].reviewer_name if reviews else None,
        )
        if triage is not None:
            out.triage_score, out.triage_reason = triage.score, triage.reason
        return out


@dataclass
class CaseCreated(CaseDetail):
    enqueued: bool = True  # False: saved and queued, but the job could not be handed to Redis


@dataclass
class CasePage:
    items: list[CaseSummary]
    total: int
    limit: int
    offset: int
