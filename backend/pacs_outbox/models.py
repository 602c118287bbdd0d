"""The outbox: one row per object (SEG, SR or overlay) per version per destination, written in
the same transaction as the review (or the model's result) it carries, so a result is never
decided without being queued, and sent by the worker until the PACS has it.

The row's SOP Instance UID is fixed when it is queued (derived from the case, the kind and
the review), so sending it again after a crash between the PACS's answer and our record gives
the PACS the same instance, which it keeps once: at least once on the wire, once in the PACS.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.platform.db import utcnow


class Kind(StrEnum):
    SEG = "seg"  # the lesion mask, DICOM Segmentation
    SR = "sr"  # the findings, Enhanced SR
    SC = "sc"  # the overlay picture, secondary capture (viewers without SEG support)


class OutboxStatus(StrEnum):
    PENDING = "pending"  # to send (again) at next_attempt_at
    SENT = "sent"  # the PACS answered success
    FAILED = "failed"  # cannot be built (the case's stored files are gone); last_error says why


class OutboxItem(SQLModel, table=True):
    __tablename__ = "pacs_outbox"
    __table_args__ = (UniqueConstraint("destination", "sop_instance_uid"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=32)
    review_id: int | None = Field(default=None, foreign_key="reviews.id")  # None: preliminary
    model_version: str = Field(default="", max_length=50)  # of the result it carries
    destination: str = Field(max_length=16)  # the PACS's AE title
    kind: str = Field(max_length=3)  # a Kind
    version: int = 1  # 1, 2, ... per case, destination and kind: the InstanceNumber
    sop_instance_uid: str = Field(max_length=64)
    replaces_uid: str | None = Field(default=None, max_length=64)  # the version before
    status: str = Field(default=OutboxStatus.PENDING, index=True, max_length=8)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    claim: str | None = Field(default=None, max_length=32)  # the sender holding it, until...
    claimed_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
