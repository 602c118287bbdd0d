"""What the model said about one film, as one typed value: the contract between the inference
core and everything that carries or stores its answer (the worker's job, the SageMaker wire, the
prediction records, the reports). The PNGs travel beside it, never in it.

``to_dict`` gives the JSON shape that the CLI prints, the SageMaker server returns and the
prediction records store; ``from_dict`` reads it back, checking each field's type, and accepts
records written before the presence and scope fields existed (they default to "not known" and
"in scope", which is what those results were)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class PredictionSummary:
    width: int
    height: int
    source_format: str
    findings_text: str | None  # None (like every finding) when the image is out of scope
    zone_flags: dict[str, bool]  # keyed by the patient's side (inference.sides)
    zone_probabilities: dict[str, float]
    laterality: str | None
    lesion_burden_percent: float | None
    model: dict[str, str]  # name, version, sha256
    timings_ms: dict[str, float] = field(default_factory=dict)
    lesion_present: bool | None = None
    lesion_probability: float | None = None  # calibrated; v2 models only
    in_scope: bool = True
    scope_reason: str | None = None

    @property
    def model_name(self) -> str:
        return self.model.get("name", "")

    @property
    def model_version(self) -> str:
        return self.model.get("version", "")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _copy(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PredictionSummary:
        """Raises ValueError naming the field that is missing or of the wrong type. Keys that
        are not fields (a record's case id and object keys, say) are ignored."""
        if "findings_text" not in data:
            raise ValueError("prediction has no findings_text")
        return cls(
            width=_int(data, "width"),
            height=_int(data, "height"),
            source_format=_str(data, "source_format") or "",
            findings_text=_str(data, "findings_text"),
            zone_flags=_mapping(data, "zone_flags", _bool_value),
            zone_probabilities=_mapping(data, "zone_probabilities", _float_value),
            laterality=_str(data, "laterality") or None,  # old records stored "" for none
            lesion_burden_percent=_float(data, "lesion_burden_percent"),
            model=_mapping(data, "model", _str_value),
            timings_ms=_mapping(data, "timings_ms", _float_value),
            lesion_present=_bool(data, "lesion_present"),
            lesion_probability=_float(data, "lesion_probability"),
            in_scope=_bool(data, "in_scope") is not False,
            scope_reason=_str(data, "scope_reason"),
        )


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _wrong(key: str, value: Any, expected: str) -> ValueError:
    return ValueError(f"prediction field {key}: expected {expected}, got {type(value).__name__}")


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _wrong(key, value, "an integer")
    return int(value)


def _float_value(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(key, value, "a number")
    return float(value)


def _float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    return None if value is None else _float_value(key, value)


def _bool_value(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _wrong(key, value, "true or false")
    return value


def _bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return None if value is None else _bool_value(key, value)


def _str_value(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _wrong(key, value, "a string")
    return value


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else _str_value(key, value)


def _mapping(data: Mapping[str, Any], key: str, item: Any) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _wrong(key, value, "an object")
    return {str(k): item(f"{key}.{k}", v) for k, v in value.items()}
