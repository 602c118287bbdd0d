"""The six lung zones as typed API objects, one field per zone named by the patient's side
(inference.sides.PATIENT_ZONES; on a standard PA/AP film the patient's right is the image's
left). On the wire they are the same JSON objects the API always sent ({"patient_right_upper":
true, ...}); typed, the OpenAPI document names every key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, TypeVar

import msgspec

from inference.sides import PATIENT_ZONES

Flag = Annotated[bool, msgspec.Meta(description="Lesion in this zone.")]
Probability = Annotated[
    float,
    msgspec.Meta(
        ge=0, le=1, description="The model's zone probability (0-1), before the mask check."
    ),
]
Z = TypeVar("Z", bound="_Zones")


class _Zones(msgspec.Struct, forbid_unknown_fields=True):
    _cast: ClassVar[type] = object  # what each stored value is read as

    @classmethod
    def of(cls: type[Z], values: Mapping[str, Any] | None) -> Z | None:
        """The stored zone dict (patient-side keys: backend.cases.sides_on_read upgrades old
        rows) as this type; None when it is missing or lacks a zone (a partial record says
        nothing reliable per zone)."""
        if not values or any(z not in values for z in PATIENT_ZONES):
            return None
        return cls(**{z: cls._cast(values[z]) for z in PATIENT_ZONES})

    def as_dict(self) -> dict[str, Any]:
        return {z: getattr(self, z) for z in PATIENT_ZONES}


class ZoneFlags(_Zones):
    """Six zone flags, named by the patient's side. The model flags only zones its mask
    outlines; a reviewer's flags are their own reading."""

    _cast = bool

    patient_right_upper: Flag
    patient_right_middle: Flag
    patient_right_lower: Flag
    patient_left_upper: Flag
    patient_left_middle: Flag
    patient_left_lower: Flag


class ZoneProbabilities(_Zones):
    """The zone head's probability per zone, named by the patient's side."""

    _cast = float

    patient_right_upper: Probability
    patient_right_middle: Probability
    patient_right_lower: Probability
    patient_left_upper: Probability
    patient_left_middle: Probability
    patient_left_lower: Probability
