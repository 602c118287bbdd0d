"""The one interface the worker's job calls, whichever engine runs the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class InferenceResult:
    """The inference core's output, split into what is stored as data and the two PNGs.

    ``summary`` has the keys of ``inference.pipeline.Prediction.summary()``: width, height,
    source_format, findings_text, zone_flags, zone_probabilities, laterality,
    lesion_burden_percent, lesion_present, lesion_probability, in_scope, scope_reason,
    model {name, version, sha256} and timings_ms. Out of scope: no findings and empty PNGs.
    """

    summary: dict[str, Any]
    mask_png: bytes
    overlay_png: bytes

    @property
    def model(self) -> dict[str, str]:
        return dict(self.summary.get("model") or {})

    @property
    def in_scope(self) -> bool:
        return bool(self.summary.get("in_scope", True))

    @property
    def model_version(self) -> str:
        return str(self.model.get("version", ""))


class InferenceBackend(Protocol):
    """Raises ``inference.errors.InputError`` for an unusable image (the job fails, no retry) and
    ``DependencyUnavailable`` when the engine cannot be reached (the job retries)."""

    #: The model version results are stored under; the job's idempotency key with the case id.
    model_version: str

    async def predict(self, image_bytes: bytes, check_scope: bool = True
                      ) -> InferenceResult: ...

    async def close(self) -> None: ...
