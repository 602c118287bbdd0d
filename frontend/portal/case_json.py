"""The model's answer in the API's case JSON (a list item or a detail), parsed once into a typed
value: the portal's side of the prediction contract (inference/result.py on the server, the
API's CaseSummary and CaseDetail on the wire). The portal reaches the backend over HTTP only,
so this reads JSON and imports nothing of the backend. A field of the wrong type reads as
absent: a page shows '—' rather than fail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal import fmt


@dataclass(frozen=True)
class ModelOutput:
    findings_text: str | None = None
    laterality: str | None = None
    lesion_burden_percent: float | None = None
    lesion_present: bool | None = None
    lesion_probability: float | None = None  # models with a presence head only
    scope_reason: str | None = None  # status out_of_scope: why the film was refused
    width: int | None = None
    height: int | None = None
    model_name: str | None = None
    model_version: str | None = None
    zone_flags: dict[str, bool] | None = None  # the six flags, or None when not all known
    zone_probabilities: dict[str, float] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    return None if isinstance(value, bool) or not isinstance(value, int | float) else value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def model_output(case: Mapping[str, Any]) -> ModelOutput:
    probabilities = case.get("zone_probabilities")
    width, height = _number(case.get("width")), _number(case.get("height"))
    present = case.get("lesion_present")
    return ModelOutput(
        findings_text=_str(case.get("findings_text")),
        laterality=_str(case.get("laterality")),
        lesion_burden_percent=_number(case.get("lesion_burden_percent")),
        lesion_present=present if isinstance(present, bool) else None,
        lesion_probability=_number(case.get("lesion_probability")),
        scope_reason=_str(case.get("scope_reason")),
        width=None if width is None else int(width),
        height=None if height is None else int(height),
        model_name=_str(case.get("model_name")),
        model_version=_str(case.get("model_version")),
        zone_flags=fmt.zone_flags(case.get("zone_flags")),
        zone_probabilities={
            str(k): float(p) for k, v in probabilities.items() if (p := _number(v)) is not None
        }
        if isinstance(probabilities, Mapping)
        else {},
    )
