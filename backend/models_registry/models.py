"""Registered model versions. A version string is unique across names because the worker keys
its results by it (S3 keys, DynamoDB range key, job ids). At most one row is active: a partial
unique index enforces it in the database, the service keeps it exactly one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field, SQLModel

from backend.platform.db import utcnow

# registered: usable, idle | active: serves every new case | shadow: also runs, never shown |
# retired: kept for the record, runs nowhere
MODEL_STATUSES = ("registered", "active", "shadow", "retired")


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_versions"
    __table_args__ = (
        Index(
            "uq_model_versions_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    version: str = Field(max_length=50, unique=True, index=True)
    onnx_path: str | None = Field(default=None, max_length=1000)  # a file on the servers
    onnx_key: str | None = Field(default=None, max_length=500)  # or an S3 key (uploaded)
    manifest: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sha256: str = Field(max_length=64)
    status: str = Field(default="registered", max_length=12)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: int | None = None
    activated_at: datetime | None = None
    activated_by: int | None = None
