"""Validation of the upload form's text fields, with one clear message per bad field.

Fields arrive as strings (browsers send "" for a blank input), so they are parsed here rather
than by the framework, which would refuse "" for a number.

The client's file name is not kept: names like DOE_JOHN_MRN123.dcm carry PHI, so the stored and
shown name is a neutral one made from the detected format (stored_filename).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from backend.cases.enums import Priority
from backend.errors import Invalid

SEXES = ("M", "F", "O")
MAX_AGE = 130


@dataclass(frozen=True)
class CaseFields:
    patient_ref: str | None
    age: int | None
    sex: str | None
    acquired_at: datetime | None
    priority: Priority
    notes: str | None


def _bad(field: str, message: str) -> Invalid:
    return Invalid.field("body", message, field)


def _text(value: str | None, field: str, max_length: int) -> str | None:
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if len(value) > max_length:
        raise _bad(field, f"{field} must be at most {max_length} characters.")
    return value


def _age(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        age = int(value.strip())
    except ValueError:
        raise _bad("age", f"age must be a whole number of years, not {value!r}.") from None
    if not 0 <= age <= MAX_AGE:
        raise _bad("age", f"age must be between 0 and {MAX_AGE}.")
    return age


def _choice(
    value: str | None, field: str, choices: tuple[str, ...], upper: bool = False
) -> str | None:
    if value is None or value.strip() == "":
        return None
    v = value.strip().upper() if upper else value.strip().lower()
    if v not in choices:
        raise _bad(field, f"{field} must be one of {', '.join(choices)}, not {value!r}.")
    return v


def _when(value: str | None) -> datetime | None:
    if value is None or value.strip() == "":
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _bad(
            "acquired_at",
            f"acquired_at must be an ISO 8601 date-time, e.g. 2024-03-01T10:30:00Z, not {value!r}.",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # documented: no offset means UTC
    if when > datetime.now(UTC) + timedelta(days=1):
        raise _bad("acquired_at", "acquired_at is in the future.")
    return when.astimezone(UTC)


STORED_NAMES = {"png": "image.png", "jpeg": "image.jpg", "dicom": "image.dcm"}


def stored_filename(fmt: str) -> str:
    """The name a case's upload is stored and shown under: the same for every upload of a
    format, so it says nothing about the patient (the upload's own name is dropped unread)."""
    return STORED_NAMES.get(fmt, "image")


class UploadText(Protocol):
    """The upload form's text fields, as sent (the HTTP form, backend.cases.controller)."""

    patient_ref: str | None
    age: str | None
    sex: str | None
    acquired_at: str | None
    priority: str | None
    notes: str | None


def parse_fields(form: UploadText) -> CaseFields:
    return CaseFields(
        patient_ref=_text(form.patient_ref, "patient_ref", 64),
        age=_age(form.age),
        sex=_choice(form.sex, "sex", SEXES, upper=True),
        acquired_at=_when(form.acquired_at),
        priority=Priority(_choice(form.priority, "priority", tuple(Priority)) or Priority.ROUTINE),
        notes=_text(form.notes, "notes", 2000),
    )
