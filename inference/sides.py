"""The patient's side: the one place that turns the model's image-side zones into the names a
person reads.

The model (like the QaTa data set it learnt from) orders its six zones by the *image's* side:
the annotations' "left" is the image's left half (docs/model.md, "Data"). Radiology names the
patient's side, and on a standard PA/AP film the patient's right lies on the image's left. DICOM
PatientOrientation (0020,0020) gives the direction of the rows; a row direction of "R" (towards
the patient's right) means the film is displayed mirrored, so the sides swap. Without it the
standard display is assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from inference.findings import NO_LESION_SENTENCE as OLD_NO_LESION_SENTENCE
from inference.findings import ZONE_ORDER, FindingsParseError, parse, render

T = TypeVar("T")

LEVELS: tuple[str, ...] = ("upper", "middle", "lower")
PATIENT_ZONES: tuple[str, ...] = tuple(
    f"patient_{side}_{level}" for side in ("right", "left") for level in LEVELS
)
NO_LESION_SENTENCE = "No focal opacity detected."
NOT_OUTLINED_SENTENCE = "Abnormal film; lesion not outlined."
_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six")


def is_mirrored(patient_orientation: str | None) -> bool:
    """True when PatientOrientation's row direction starts with "R" (e.g. "R\\F")."""
    if not patient_orientation:
        return False
    row = patient_orientation.replace("\\", "/").split("/")[0].strip().upper()
    return row.startswith("R")


def patient_key(image_key: str, mirrored: bool = False) -> str:
    """'left_lower' (the image's left) -> 'patient_right_lower' on a standard film."""
    side, _, level = image_key.partition("_")
    if side not in ("left", "right") or level not in LEVELS:
        raise ValueError(f"not an image-side zone: {image_key!r}")
    standard = "right" if side == "left" else "left"
    patient = ("left" if standard == "right" else "right") if mirrored else standard
    return f"patient_{patient}_{level}"


def image_key(patient: str) -> str:
    """'patient_right_lower' -> 'left_lower' on a standard film (the data set's convention)."""
    for key in ZONE_ORDER:
        if patient_key(key) == patient:
            return key
    raise ValueError(f"not a patient-side zone: {patient!r}")


def to_patient(values: Mapping[str, T], mirrored: bool = False) -> dict[str, T]:
    """Image-side zone values -> the same values keyed by the patient's side, in PATIENT_ZONES."""
    by_patient = {patient_key(k, mirrored): v for k, v in values.items()}
    return {z: by_patient[z] for z in PATIENT_ZONES if z in by_patient}


def to_image(values: Mapping[str, T]) -> dict[str, T]:
    """Patient-side values -> image-side keys in ZONE_ORDER (standard display; training data)."""
    by_image = {image_key(k): v for k, v in values.items()}
    return {z: by_image[z] for z in ZONE_ORDER if z in by_image}


def stored_to_patient(values: Mapping[str, T] | None) -> dict[str, T] | None:
    """Zone values as stored by any version: old records used image-side keys ("left_upper");
    they are read as a standard-display film. Patient-side keys pass through."""
    if values is None:
        return None
    if any(k in ZONE_ORDER for k in values):
        return to_patient({k: v for k, v in values.items() if k in ZONE_ORDER})
    return {z: values[z] for z in PATIENT_ZONES if z in values}


def is_image_side(values: Mapping[str, object] | None) -> bool:
    """True for a record written before the patient's side (keys like "left_upper")."""
    return bool(values) and any(k in ZONE_ORDER for k in values or {})


def old_text_to_patient(text: str | None) -> str | None:
    """A sentence written before the patient's side ("lower left lung" meant the image's left)
    re-rendered naming the patient's side on a standard film; free text that is not the
    template is returned unchanged."""
    if text is None:
        return None
    if text.strip().lower() == OLD_NO_LESION_SENTENCE:
        return NO_LESION_SENTENCE
    try:
        zones = parse(text).zones
    except FindingsParseError:
        return text
    if render(zones).lower() != text.strip().lower():
        return text
    return sentence(to_patient(dict(zip(ZONE_ORDER, zones, strict=True))))


class Laterality(StrEnum):
    """Which of the patient's lungs hold outlined lesion."""

    BILATERAL = "bilateral"
    RIGHT = "right"
    LEFT = "left"
    NONE = "none"


def laterality(flags: Mapping[str, bool]) -> Laterality:
    """Bilateral, right, left (the patient's) or none."""
    right = any(flags.get(f"patient_right_{lv}", False) for lv in LEVELS)
    left = any(flags.get(f"patient_left_{lv}", False) for lv in LEVELS)
    if right and left:
        return Laterality.BILATERAL
    return Laterality.RIGHT if right else Laterality.LEFT if left else Laterality.NONE


def sentence(flags: Mapping[str, bool], lesion_present: bool | None = None) -> str:
    """The findings sentence naming the patient's side ("lower right lung": the patient's right).

    No flag: "No focal opacity detected." unless the film is judged abnormal (lesion_present),
    then "Abnormal film; lesion not outlined."
    """
    n = sum(bool(flags.get(z, False)) for z in PATIENT_ZONES)
    if n == 0:
        return NOT_OUTLINED_SENTENCE if lesion_present else NO_LESION_SENTENCE
    parts = []
    for side in ("right", "left"):
        levels = [lv for lv in LEVELS if flags.get(f"patient_{side}_{lv}", False)]
        if levels:
            parts.append(f"{' '.join(levels)} {side} lung")
    lat = "bilateral" if len(parts) == 2 else "unilateral"
    areas = "area" if n == 1 else "areas"
    return f"{lat} pulmonary infection, {_COUNT_WORDS[n]} infected {areas}, {' and '.join(parts)}."


def parse_patient(text: str) -> dict[str, bool]:
    """Zone flags from a sentence that names the patient's sides; raises FindingsParseError."""
    low = text.strip().lower()
    if low.startswith(NO_LESION_SENTENCE.lower()[:-1]) or low.startswith("abnormal film"):
        return dict.fromkeys(PATIENT_ZONES, False)
    zones = parse(text).zones  # parse keeps the words' sides: first three "left", then "right"
    words = {f"patient_left_{lv}": zones[i] for i, lv in enumerate(LEVELS)}
    words |= {f"patient_right_{lv}": zones[3 + i] for i, lv in enumerate(LEVELS)}
    return {z: bool(words[z]) for z in PATIENT_ZONES}


__all__ = [
    "NOT_OUTLINED_SENTENCE",
    "NO_LESION_SENTENCE",
    "PATIENT_ZONES",
    "FindingsParseError",
    "Laterality",
    "image_key",
    "is_image_side",
    "is_mirrored",
    "laterality",
    "old_text_to_patient",
    "parse_patient",
    "patient_key",
    "sentence",
    "stored_to_patient",
    "to_image",
    "to_patient",
]
