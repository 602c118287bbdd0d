"""DICOM exports of a case uploaded as DICOM (highdicom; blocking: run them in a thread).

- SEG: the model's lesion mask as a binary DICOM Segmentation referencing the stored (de-
  identified) source image's Study/Series/SOP Instance UIDs;
- SR: an Enhanced SR document: the signed-off findings first (a "Finding" only when a reviewer
  accepted or edited them), then a comment that says whose findings they are ("Findings
  (reviewed by X)", "Rejected by X — do not use", "Model output — awaiting review"), the model's
  own sentence under its own concept (MODEL_OUTPUT), lesion burden, laterality, zone
  probabilities, model and the decision-support notice. Verified and final only when a
  reviewer signed the findings off.

UIDs are derived from the case, model version (and, for the SR, the latest review), so a second
download of the same content is the same instance, not a new one.

Neither object copies anything free-text or identifying from the source: highdicom is handed a
reference data set made here (reference_dataset) with only the UIDs it must reference, the pixel
geometry, the patient characteristics the stored file retains (sex, age, size, weight) and the
Type 2 patient and study attributes, empty. So study and series descriptions, names, dates,
institutions and devices never reach an export, even from a file stored before de-identification
was an allow-list. The SEG repeats the stored file's de-identification declaration; the SR does
not, because it carries a reviewer's name and free-text comment, which are not de-identified.
Text we write into a PN or LO value is made safe first (person_name, _lo): a backslash there
would split the value in two, and in a PN "=" and "^" would start a new group or component.

What a PACS case sends back to its PACS (backend.pacs_outbox.objects) is built by the same
seg_dataset and sr_dataset, over a reference data set that carries the original study, patient
and instance instead (re-identified from backend.identity_map), with UIDs of its own.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import highdicom as hd
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from backend.reports.context import DISCLAIMER, REJECTED_NOTE, ReportData, zone_label
from backend.reviews.enums import ReviewState
from inference.sides import PATIENT_ZONES


def zone_code(zone: str) -> str:
    """'patient_right_middle' -> 'zone-pt-r-middle': a Code Value fits 16 characters (SH)."""
    _, side, level = zone.split("_")
    return f"zone-pt-{side[0]}-{level}"


MANUFACTURER = "MedSegText"
UTF8 = "ISO_IR 192"
LOCAL = "99MEDSEG"  # private coding scheme for concepts with no standard code
SEG_SERIES, SR_SERIES = 9901, 9902
FINDING = Code("121071", "DCM", "Finding")  # only the signed-off findings (accepted or edited)
COMMENT = Code("121106", "DCM", "Comment")
MODEL_OUTPUT = Code("model-output", LOCAL, "Model output (machine-generated findings)")
# Type 2 attributes the derived objects copy: always empty in an export.
_EMPTY = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
)
# What highdicom reads from the source image: references, pixel geometry, retained patient
# characteristics (backend.cases.deid_profile.RETAINED_CHARACTERISTICS).
_REFERENCE = (
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "FrameOfReferenceUID",
    "Modality",
    "Rows",
    "Columns",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "NumberOfFrames",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "ImageOrientationPatient",
    "ImagePositionPatient",
    "SliceThickness",
    "PatientOrientation",
    "ImageLaterality",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
)
_REFERENCED_UIDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
_DECLARATION = (
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
)
_PN_SEPARATORS = re.compile(r"[\\=^\x00-\x1f\x7f]+")
_SPACES = re.compile(r"\s+")


class NotExportable(ValueError):
    """The stored files cannot give this DICOM object; the message says why."""


def reference_dataset(data: bytes, declare: bool) -> Dataset:
    """What an export may take from the stored image (see the module docstring); ``declare``
    carries over its de-identification declaration."""
    stored = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    missing = [k for k in _REFERENCED_UIDS if not stored.get(k)]
    if missing:  # stored before de-identification made the missing ones (deidentify.py)
        raise NotExportable(
            f"The stored image has no {' or '.join(missing)}, which a DICOM "
            "SEG or SR must reference. Upload the film again to export it."
        )
    ds = Dataset()
    for keyword in _REFERENCE + (_DECLARATION if declare else ()):
        if keyword in stored:
            ds[keyword] = stored[keyword]
    for keyword in (*_EMPTY, "PatientSex"):
        if keyword not in ds:
            setattr(ds, keyword, None)
    return ds


def _uid(*parts: str) -> str:
    return str(generate_uid(entropy_srcs=["medsegtext", *parts]))


@dataclass(frozen=True)
class Placement:
    """Where an exported object goes: its series, its own UID and its number in the series."""

    series_uid: str
    sop_uid: str
    instance_number: int = 1


def seg_dataset(
    ds: Dataset, mask_png: bytes, data: ReportData, at: Placement
) -> hd.seg.Segmentation:
    """The SEG of `data`'s mask over the image `ds` describes (a reference data set)."""
    mask = np.asarray(Image.open(io.BytesIO(mask_png)).convert("L")) > 127
    if mask.shape != (int(ds.Rows), int(ds.Columns)):
        raise NotExportable(
            f"The mask is {mask.shape[1]}x{mask.shape[0]} but the image is {ds.Columns}x{ds.Rows}."
        )
    c = data.case
    algorithm = hd.AlgorithmIdentificationSequence(
        name=_lo(c.model_name or "medsegtext"),
        version=_lo(c.model_version or "unknown"),
        family=codes.cid7162.ArtificialIntelligence,
    )
    segment = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label="Lesion",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Lesion,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=algorithm,
    )
    seg = hd.seg.Segmentation(
        source_images=[ds],
        pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment],
        series_instance_uid=at.series_uid,
        series_number=SEG_SERIES,
        sop_instance_uid=at.sop_uid,
        instance_number=at.instance_number,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=_lo(c.model_name or "medsegtext"),
        software_versions=_lo(c.model_version or "unknown"),
        device_serial_number="n/a",
        series_description="MedSegText lesion segmentation (decision support)",
        specific_character_set=UTF8,
        omit_empty_frames=False,
    )
    if "ImageOrientationPatient" not in ds:  # a projection film: orientation by its letters
        seg.PatientOrientation = ds.get("PatientOrientation")
    return seg


def build_seg(source: bytes, mask_png: bytes, data: ReportData) -> bytes:
    """The download's SEG: over the stored (de-identified) film, UIDs from the case."""
    c, version = data.case, data.case.model_version or ""
    at = Placement(_uid(c.id, "seg-series", version), _uid(c.id, "seg", version))
    return to_bytes(seg_dataset(reference_dataset(source, declare=True), mask_png, data, at))


def _text(code: Code, value: str) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(
        name=code, value=value[:1024], relationship_type=hd.sr.RelationshipTypeValues.CONTAINS
    )


def _num(code: Code, value: float, unit: Code) -> hd.sr.NumContentItem:
    return hd.sr.NumContentItem(
        name=code,
        value=float(value),
        unit=unit,
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
    )


def _content(ds: Dataset, data: ReportData) -> hd.sr.ContainerContentItem:
    c, o = data.case, data.outcome
    status = f"{data.findings_heading}. {data.review_line}"
    if o.state == ReviewState.REJECTED:
        status = f"{data.findings_heading}. {REJECTED_NOTE} {data.review_line}"
    items: list[hd.sr.ContentItem] = [
        *([_text(FINDING, data.signed_off_text)] if data.signed_off_text else []),
        _text(COMMENT, status),
        *([_text(MODEL_OUTPUT, c.findings_text)] if c.findings_text else []),
    ]
    if c.lesion_burden_percent is not None:
        items.append(
            _num(
                Code("lesion-burden", LOCAL, "Lesion burden, % of image area"),
                c.lesion_burden_percent,
                Code("%", "UCUM", "percent"),
            )
        )
    if c.laterality:
        items.append(_text(Code("272741003", "SCT", "Laterality"), c.laterality))
    probs = c.zone_probabilities or {}
    for zone in PATIENT_ZONES:
        if zone in probs:
            items.append(
                _num(
                    Code(zone_code(zone), LOCAL, f"Lesion probability, {zone_label(zone)} zone"),
                    float(probs[zone]),
                    Code("1", "UCUM", "no units"),
                )
            )
    items += [
        _text(Code("111001", "DCM", "Algorithm Name"), c.model_name or "medsegtext"),
        _text(Code("111003", "DCM", "Algorithm Version"), c.model_version or "unknown"),
        _text(COMMENT, DISCLAIMER),
        hd.sr.ImageContentItem(
            name=Code("121112", "DCM", "Source of Measurement"),
            referenced_sop_class_uid=ds.SOPClassUID,
            referenced_sop_instance_uid=ds.SOPInstanceUID,
            relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
        ),
    ]
    root = hd.sr.ContainerContentItem(name=Code("18748-4", "LN", "Diagnostic imaging report"))
    root.ContentSequence = hd.sr.ContentSequence(items)
    return root


def sr_dataset(
    ds: Dataset, data: ReportData, at: Placement, previous: list[Dataset] | None = None
) -> hd.sr.EnhancedSR:
    """The SR of `data` about the image `ds` describes; `previous` (data sets with the study,
    series, class and instance UIDs of earlier versions) become its Predecessor Documents."""
    o = data.outcome
    verified = o.is_final and o.review is not None
    return hd.sr.EnhancedSR(
        evidence=[ds],
        content=_content(ds, data),
        series_instance_uid=at.series_uid,
        series_number=SR_SERIES,
        sop_instance_uid=at.sop_uid,
        instance_number=at.instance_number,
        manufacturer=MANUFACTURER,
        is_complete=True,
        is_final=verified,
        is_verified=verified,
        verifying_observer_name=person_name(o.reviewer_name or "reviewer") if verified else None,
        verifying_organization=MANUFACTURER if verified else None,
        previous_versions=previous or None,
        series_description="MedSegText findings (decision support)",
        specific_character_set=UTF8,
    )


def build_sr(source: bytes, data: ReportData) -> bytes:
    """The download's SR: about the stored (de-identified) film, UIDs from the case and its
    latest review."""
    c, o, version = data.case, data.outcome, data.case.model_version or ""
    review = str(o.review.id) if o.review is not None else "unreviewed"
    at = Placement(_uid(c.id, "sr-series", version), _uid(c.id, "sr", version, review))
    return to_bytes(sr_dataset(reference_dataset(source, declare=False), data, at))


def person_name(name: str) -> str:
    """A display name as one PN component (the trailing caret says so): splitting it into
    family and given names would guess wrong for many names. PN has no escape: a backslash
    would make a second value (VM 2), "=" a second component group, "^" another component, so
    they (and control characters) become spaces."""
    cleaned = _SPACES.sub(" ", _PN_SEPARATORS.sub(" ", name)).strip()[:63].strip()
    return (cleaned or "reviewer") + "^"


def _lo(value: str) -> str:
    """A text as one LO value: a backslash would split it in two; at most 64 characters."""
    return _SPACES.sub(" ", value.replace("\\", "/")).strip()[:64]


def to_bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
