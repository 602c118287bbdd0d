"""The identity map's table: one row per PACS-originated case, the identifiers sealed
(backend.identity_map.sealing). Uploads have no row: that is how the sender knows a case came
from a PACS."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from backend.platform.db import utcnow


class CaseIdentity(SQLModel, table=True):
    __tablename__ = "case_identities"
    case_id: str = Field(foreign_key="cases.id", primary_key=True, max_length=32)
    calling_ae: str = Field(max_length=16)  # the PACS that sent the film (not identifying)
    key_id: str = Field(max_length=16)  # which key sealed it (sealing.key_id)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
