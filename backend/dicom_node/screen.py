"""What the node reads from an instance's header before it reads any pixel: whether to take it
at all, the case fields it gives, and where it came from.

The scope rules are the inference core's (inference.scope.header_reason, the same the worker
applies), asked here first so that a lateral view or a CT slice is refused with a status the
PACS sees instead of becoming an out-of-scope case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    SecondaryCaptureImageStorage,
)

from backend.cases.enums import Priority
from backend.cases.upload import MAX_AGE, SEXES, CaseFields
from backend.dicom_node.statuses import (
    CANNOT_UNDERSTAND,
    NOT_ANALYSED,
    SOP_CLASS_NOT_SUPPORTED,
    Refused,
)
from inference.scope import header_reason

# The image IODs the de-identification profile is written for (backend.cases.deid_profile);
# secondary capture because archives convert films to it (the NCCID sample is one, Modality DX).
FILM_CLASSES = frozenset(
    {
        ComputedRadiographyImageStorage,
        DigitalXRayImageStorageForPresentation,
        DigitalXRayImageStorageForProcessing,
        SecondaryCaptureImageStorage,
    }
)
_AGE = re.compile(r"^(\d{3})([DWMY])$")


@dataclass(frozen=True)
class Origin:
    """Where an instance came from. Not stored with the case (it is de-identified like an
    upload); the identity map (backend.identity_map) keeps the original UIDs, sealed."""

    calling_ae: str
    peer: str
    study_uid: str
    series_uid: str
    sop_instance_uid: str


def read_header(path: Path) -> Dataset:
    """The instance's attributes without its pixel data; C000 when it is not DICOM."""
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as e:  # pydicom raises many kinds on damaged data; all mean "unreadable"
        raise Refused(CANNOT_UNDERSTAND, f"The data set cannot be read: {e}") from None


def screen(ds: Dataset) -> None:
    """Refuse what is not a film this node analyses (0122 or C001, with the reason)."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class not in FILM_CLASSES:
        name = getattr(ds.get("SOPClassUID"), "name", sop_class) or "(missing)"
        raise Refused(
            SOP_CLASS_NOT_SUPPORTED,
            f"SOP class {name} is not a radiograph class (CR, DX or secondary "
            "capture); only frontal chest films are analysed.",
        )
    meta = {
        key: str(ds.get(keyword, "") or "")
        for key, keyword in (
            ("modality", "Modality"),
            ("body_part", "BodyPartExamined"),
            ("view_position", "ViewPosition"),
        )
    }
    reason = header_reason(meta)
    if reason:
        raise Refused(NOT_ANALYSED, reason)


def _age(value: object) -> int | None:
    """PatientAge (AS, e.g. 045Y or 006M) in whole years; None when absent or odd."""
    m = _AGE.match(str(value or ""))
    if m is None:
        return None
    years = int(m.group(1)) if m.group(2) == "Y" else 0
    return years if years <= MAX_AGE else None


def case_fields(ds: Dataset, priority: Priority, calling_ae: str) -> CaseFields:
    """The case's fields: age and sex, which the stored film keeps too (PS3.15 Retain Patient
    Characteristics), and a note naming the sender; no patient reference, no dates."""
    sex = str(ds.get("PatientSex", "") or "").upper()
    return CaseFields(
        patient_ref=None,
        age=_age(ds.get("PatientAge")),
        sex=sex if sex in SEXES else None,
        acquired_at=None,
        priority=priority,
        notes=f"Received by DICOM C-STORE from {calling_ae}.",
    )


def origin_of(ds: Dataset, calling_ae: str, peer: str) -> Origin:
    return Origin(
        calling_ae=calling_ae,
        peer=peer,
        study_uid=str(ds.get("StudyInstanceUID", "")),
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
    )
