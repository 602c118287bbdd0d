"""The one interface the worker's job calls, whichever engine runs the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from inference.result import PredictionSummary


@dataclass(frozen=True)
class InferenceResult:
    """The inference core's output: the typed summary (stored as data) and the two PNGs.
    Out of scope: no findings and empty PNGs."""

    summary: PredictionSummary
    mask_png: bytes
    overlay_png: bytes

    @property
    def model(self) -> dict[str, str]:
        return dict(self.summary.model)

    @property
    def in_scope(self) -> bool:
        return self.summary.in_scope

    @property
    def model_version(self) -> str:
        return self.summary.model_version


class InferenceBackend(Protocol):
    """Raises ``inference.errors.InputError`` for an unusable image (the job fails, no retry) and
    ``DependencyUnavailable`` when the engine cannot be reached (the job retries)."""

    #: The model version results are stored under; the job's idempotency key with the case id.
    model_version: str

    async def predict(self, image_bytes: bytes, check_scope: bool = True) -> InferenceResult: ...

    async def close(self) -> None: ...
