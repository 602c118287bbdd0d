"""Audit events: append-only; no API updates or deletes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from backend.platform.db import utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None, index=True)
    role: str | None = Field(default=None, max_length=20)
    action: str = Field(index=True, max_length=50)
    object_type: str | None = Field(default=None, max_length=30)
    object_id: str | None = Field(default=None, index=True, max_length=64)
    client_addr: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
