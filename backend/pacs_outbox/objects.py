"""The objects sent to the PACS, re-identified: the SEG and SR of backend.reports.dicom_export
and an overlay picture as secondary capture, built over a reference data set that carries the
original study, patient and instance (backend.identity_map) so they file into the original
study and reference the original film. Blocking (highdicom): run in a thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import highdicom as hd
import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import EnhancedSRStorage, ExplicitVRLittleEndian

from backend.identity_map.identifiers import Identity
from backend.pacs_outbox.models import Kind, OutboxItem
from backend.pacs_outbox.uids import series_uid
from backend.reports.context import ReportData
from backend.reports.dicom_export import (
    MANUFACTURER,
    UTF8,
    NotExportable,
    Placement,
    reference_dataset,
    seg_dataset,
    sr_dataset,
)

SC_SERIES = 9903
# the orientation the portal assumes for a film that states none (DESIGN: a standard PA/AP
# display): rows run to the patient's left, columns to the feet
STANDARD_DISPLAY = ("L", "F")


@dataclass(frozen=True)
class Sources:
    """What one case's objects are built from: the stored film, the model's mask and overlay
    (absent when no row needs them) and the original identifiers."""

    film: bytes
    mask: bytes | None
    overlay: bytes | None
    identity: Identity


def reference(film: bytes, identity: Identity) -> Dataset:
    """The stored film's geometry and retained characteristics, the original identifiers."""
    ds = reference_dataset(film, declare=False)
    identity.apply(ds)
    return ds


def _predecessor(item: OutboxItem, identity: Identity) -> list[Dataset]:
    if item.replaces_uid is None:
        return []
    ds = Dataset()
    ds.StudyInstanceUID = identity.study_uid
    ds.SeriesInstanceUID = series_uid(item.case_id, Kind.SR)
    ds.SOPClassUID, ds.SOPInstanceUID = EnhancedSRStorage, item.replaces_uid
    return [ds]


def overlay_dataset(ds: Dataset, overlay_png: bytes, at: Placement) -> hd.sc.SCImage:
    """The overlay (film plus outlined lesion, RGB) as a secondary capture image."""
    rgb = np.asarray(Image.open(io.BytesIO(overlay_png)).convert("RGB"))
    orientation = ds.get("PatientOrientation")
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=ds,
        pixel_array=rgb,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=at.series_uid,
        series_number=SC_SERIES,
        sop_instance_uid=at.sop_uid,
        instance_number=at.instance_number,
        manufacturer=MANUFACTURER,
        patient_orientation=tuple(orientation)
        if orientation and len(orientation) == 2
        else STANDARD_DISPLAY,
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    sc.SpecificCharacterSet = UTF8
    sc.SeriesDescription = "MedSegText lesion overlay (decision support)"
    sc.BurnedInAnnotation = "NO"
    if "ImageLaterality" not in sc and "Laterality" not in sc:
        sc.Laterality = ""  # Type 2C (the chest is a paired structure): present, unknown
    source = Dataset()
    source.ReferencedSOPClassUID, source.ReferencedSOPInstanceUID = (
        ds.SOPClassUID,
        ds.SOPInstanceUID,
    )
    sc.SourceImageSequence = [source]
    return sc


def build(item: OutboxItem, data: ReportData, sources: Sources) -> Dataset:
    """The object `item` sends (its kind, version and UID) for the result `data` states."""
    ds = reference(sources.film, sources.identity)
    at = Placement(series_uid(item.case_id, Kind(item.kind)), item.sop_instance_uid, item.version)
    if item.kind == Kind.SR:
        return sr_dataset(ds, data, at, _predecessor(item, sources.identity))
    if item.kind == Kind.SEG:
        if sources.mask is None:
            raise NotExportable("The mask of this case is not stored.")
        return seg_dataset(ds, sources.mask, data, at)
    if sources.overlay is None:
        raise NotExportable("The overlay of this case is not stored.")
    return overlay_dataset(ds, sources.overlay, at)
