"""Model version bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec

from backend.models_registry.models import ModelVersion


class RegisterPathIn(msgspec.Struct):
    """An ONNX file on the servers; the manifest defaults to <stem>.manifest.json beside it."""

    path: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    manifest_path: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


@dataclass
class ModelVersionOut:
    id: int
    name: str
    version: str
    status: str  # registered | active | shadow | retired
    sha256: str
    onnx_path: str | None
    onnx_key: str | None
    created_at: datetime
    created_by: int | None
    activated_at: datetime | None
    activated_by: int | None
    manifest: dict[str, Any]

    @classmethod
    def of(cls, m: ModelVersion) -> ModelVersionOut:
        assert m.id is not None
        return cls(
            m.id,
            m.name,
            m.version,
            m.status,
            m.sha256,
            m.onnx_path,
            m.onnx_key,
            m.created_at,
            m.created_by,
            m.activated_at,
            m.activated_by,
            m.manifest,
        )
