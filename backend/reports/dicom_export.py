"""DICOM exports of a case uploaded as DICOM (highdicom; blocking: run them in a thread).

- SEG: the model's lesion mask as a binary DICOM Segmentation referencing the stored (de-
  identified) source image's Study/Series/SOP Instance UIDs;
- SR: an Enhanced SR document with the findings text, lesion burden, laterality, zone
  probabilities, model, review state and the decision-support notice.

UIDs are derived from the case, model version (and, for the SR, the latest review), so a second
download of the same content is the same instance, not a new one.
"""

from __future__ import annotations

import io

import highdicom as hd
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from backend.reports.context import DISCLAIMER, ReportData, zone_label
from inference.findings import ZONE_ORDER

MANUFACTURER = "MedSegText"
UTF8 = "ISO_IR 192"
LOCAL = "99MEDSEG"  # private coding scheme for concepts with no standard code
SEG_SERIES, SR_SERIES = 9901, 9902
# Type 2 attributes the derived objects copy; de-identification may have left them absent.
_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate",
          "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName")


class NotExportable(ValueError):
    """The stored files cannot give this DICOM object; the message says why."""


def source_dataset(data: bytes) -> Dataset:
    ds = pydicom.dcmread(io.BytesIO(data))
    for keyword in _TYPE2:
        if keyword not in ds:
            setattr(ds, keyword, None)
    return ds


def _uid(*parts: str) -> str:
    return str(generate_uid(entropy_srcs=["medsegtext", *parts]))


def build_seg(source: bytes, mask_png: bytes, data: ReportData) -> bytes:
    ds = source_dataset(source)
    mask = np.asarray(Image.open(io.BytesIO(mask_png)).convert("L")) > 127
    if mask.shape != (int(ds.Rows), int(ds.Columns)):
        raise NotExportable(f"The mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                            f"{ds.Columns}x{ds.Rows}.")
    c = data.case
    algorithm = hd.AlgorithmIdentificationSequence(
        name=c.model_name or "medsegtext", version=c.model_version or "unknown",
        family=codes.cid7162.ArtificialIntelligence)
    segment = hd.seg.SegmentDescription(
        segment_number=1, segment_label="Lesion",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Lesion,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=algorithm)
    seg = hd.seg.Segmentation(
        source_images=[ds], pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment],
        series_instance_uid=_uid(c.id, "seg-series", c.model_version or ""),
        series_number=SEG_SERIES,
        sop_instance_uid=_uid(c.id, "seg", c.model_version or ""), instance_number=1,
        manufacturer=MANUFACTURER, manufacturer_model_name=c.model_name or "medsegtext",
        software_versions=c.model_version or "unknown", device_serial_number="n/a",
        series_description="MedSegText lesion segmentation (decision support)",
        specific_character_set=UTF8, omit_empty_frames=False)
    return _bytes(seg)


def _text(code: Code, value: str) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(name=code, value=value[:1024],
                                 relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)


def _num(code: Code, value: float, unit: Code) -> hd.sr.NumContentItem:
    return hd.sr.NumContentItem(name=code, value=float(value), unit=unit,
                                relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)


def _content(ds: Dataset, data: ReportData) -> hd.sr.ContainerContentItem:
    c, o = data.case, data.outcome
    items: list[hd.sr.ContentItem] = [
        _text(Code("121071", "DCM", "Finding"), o.findings_text or "-"),
        _text(Code("121106", "DCM", "Comment"), f"{data.findings_heading}. {data.review_line}"),
    ]
    if c.lesion_burden_percent is not None:
        items.append(_num(Code("lesion-burden", LOCAL, "Lesion burden, % of image area"),
                          c.lesion_burden_percent, Code("%", "UCUM", "percent")))
    if c.laterality:
        items.append(_text(Code("272741003", "SCT", "Laterality"), c.laterality))
    probs = c.zone_probabilities or {}
    for zone in ZONE_ORDER:
        if zone in probs:
            items.append(_num(Code(f"zone-{zone}", LOCAL,
                                   f"Lesion probability, {zone_label(zone)} zone"),
                              float(probs[zone]), Code("1", "UCUM", "no units")))
    items += [
        _text(Code("111001", "DCM", "Algorithm Name"), c.model_name or "medsegtext"),
        _text(Code("111003", "DCM", "Algorithm Version"), c.model_version or "unknown"),
        _text(Code("121106", "DCM", "Comment"), DISCLAIMER),
        hd.sr.ImageContentItem(name=Code("121112", "DCM", "Source of Measurement"),
                               referenced_sop_class_uid=ds.SOPClassUID,
                               referenced_sop_instance_uid=ds.SOPInstanceUID,
                               relationship_type=hd.sr.RelationshipTypeValues.CONTAINS),
    ]
    root = hd.sr.ContainerContentItem(name=Code("18748-4", "LN", "Diagnostic imaging report"))
    root.ContentSequence = hd.sr.ContentSequence(items)
    return root


def build_sr(source: bytes, data: ReportData) -> bytes:
    ds = source_dataset(source)
    c, o = data.case, data.outcome
    review = str(o.review.id) if o.review is not None else "unreviewed"
    verified = o.is_final and o.review is not None
    sr = hd.sr.EnhancedSR(
        evidence=[ds], content=_content(ds, data),
        series_instance_uid=_uid(c.id, "sr-series", c.model_version or ""),
        series_number=SR_SERIES,
        sop_instance_uid=_uid(c.id, "sr", c.model_version or "", review), instance_number=1,
        manufacturer=MANUFACTURER, is_complete=True, is_final=verified, is_verified=verified,
        verifying_observer_name=person_name(o.reviewer_name or "reviewer") if verified else None,
        verifying_organization=MANUFACTURER if verified else None,
        series_description="MedSegText findings (decision support)",
        specific_character_set=UTF8)
    return _bytes(sr)


def person_name(name: str) -> str:
    """A display name as one PN component (the trailing caret says so): splitting it into
    family and given names would guess wrong for many names."""
    return name.replace("^", " ").strip()[:64] + "^"


def _bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
