"""DICOM de-identification before anything is stored: the DICOM PS3.15 Annex E Basic Application
Level Confidentiality Profile with the Retain Patient Characteristics Option (113108), built as
an allow-list (backend.cases.deid_profile says what is kept and why).

Why our own allow-list rather than a library (all three are on PyPI and maintained):
- dicom-anonymizer applies Table E.1-1 as a deny-list: an attribute the table does not name (a
  newer or retired one, or a site's misuse of a standard one) passes through. It keeps its old ->
  new UID map in a module-global dict for the life of the process (a mapping we must not keep,
  shared across requests and threads), and its new UIDs are random, not derived per upload.
- dicognito replaces identifiers with realistic fakes and shifts dates, for test data sets; it
  leaves descriptions (StudyDescription, ProtocolName...) alone and declares no profile.
- deid is driven by recipes; its shipped one is mostly a pixel-area filter for known devices, so
  the header rules would still be ours to write, and it pulls in matplotlib.
An allow-list of the ~120 attributes these IODs need fails closed (what we did not think of is
removed) and is short enough to review; pydicom, already a dependency, does the parsing.

What happens to a file:
- only deid_profile.ALLOWED keywords survive, in nested sequences only the per-sequence items;
  private tags, overlays and curves (groups 60xx and 50xx) never do;
- instance UIDs are replaced by 2.25 UUID-derived UIDs, hashed from the original with a random
  secret made for this upload and then dropped: the same UID maps to the same new UID within the
  file (references stay consistent), the original cannot be recovered and no mapping is kept;
- a film without a Study or Series Instance UID (Type 1, but some converters leave them out)
  gets new ones made the same way: the stored copy is the film every export (SEG, SR) must
  reference, and no reader can ever meet the original's UIDs anyway;
- the file meta is rebuilt (no PrivateInformation or source AE title; our implementation UID;
  MediaStorageSOPInstanceUID = the new SOPInstanceUID) and the preamble zeroed;
- the method is declared: PatientIdentityRemoved YES, DeidentificationMethodCodeSequence
  113100 + 113108, LongitudinalTemporalInformationModified REMOVED.

Burned-in annotation: the pixels are not cleaned (no Clean Pixel Data Option), so a film whose
BurnedInAnnotation is YES is refused (InputError "burned_in_annotation", HTTP 422) and never
stored or marked as de-identified. A film that says NO, or says nothing (most CR and secondary
capture objects do not carry the attribute), is accepted: the profile's header rules are applied
and declared; the attribute is kept as sent, never invented.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import uuid

import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import UID

from backend.cases import deid_profile as profile
from inference.errors import InputError

METHOD = "PS3.15 E Basic Profile; Retain Patient Characteristics"  # LO: <= 64
# Our implementation class UID: 2.25 form of uuid5(URL, "urn:medsegtext:dicom-implementation").
IMPLEMENTATION_CLASS_UID = "2.25.208544340474430243794105567549477800563"
IMPLEMENTATION_VERSION = "MEDSEGTEXT_0_1"  # SH: <= 16
MADE_IF_MISSING = ("StudyInstanceUID", "SeriesInstanceUID")


class UidMap:
    """Old instance UID -> new one, for one upload: derived from the old UID and a secret that
    lives only as long as this object, so references within a file stay consistent and nothing
    links the new UID back to the original."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def __call__(self, old: str) -> str:
        digest = hashlib.sha256(self._secret + old.strip().encode("ascii", "replace")).digest()
        return f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"


def refuse_burned_in(ds: Dataset) -> None:
    """Raise for a film that says its pixels carry burned-in text (names, dates, IDs)."""
    if str(ds.get("BurnedInAnnotation") or "").strip().upper() == "YES":
        raise InputError(
            "burned_in_annotation",
            "This DICOM file has burned-in annotation (BurnedInAnnotation = YES): text such as "
            "the patient's name or date of birth is part of the image pixels and cannot be "
            "removed here. Export the film without burned-in annotation and upload it again.",
        )


def _dropped(tag: BaseTag, allowed: frozenset[str]) -> bool:
    """Private, overlay (60xx), curve (50xx), group length or simply not allowed. Decided on
    the tag alone, so a dropped element's value is never even decoded."""
    return (
        tag.is_private
        or tag.group & 0xFF00 in (0x5000, 0x6000)
        or keyword_for_tag(tag) not in allowed
    )


def _uid_values(element: DataElement) -> list[str]:
    value = element.value
    values = list(value) if isinstance(value, MultiValue) else [value]
    return [str(v) for v in values if v]


def _copy(source: Dataset, allowed: frozenset[str], uids: UidMap) -> Dataset:
    """A new data set with only the allowed elements of ``source``, recursively."""
    out = Dataset()
    for tag in list(source.keys()):
        if _dropped(tag, allowed):
            continue
        element = source[tag]
        keyword = element.keyword
        if keyword in profile.EMPTIED:
            out.add_new(element.tag, element.VR, Sequence() if element.VR == "SQ" else None)
        elif element.VR == "SQ":
            inner = profile.ITEM_KEEP.get(keyword, frozenset())
            out.add_new(
                element.tag, "SQ", Sequence([_copy(item, inner, uids) for item in element.value])
            )
        elif keyword in profile.REPLACED_UIDS:
            new = [uids(v) for v in _uid_values(element)]
            out.add_new(element.tag, "UI", (new[0] if len(new) == 1 else new) or None)
        elif keyword == "PatientAge":
            out.add_new(element.tag, "AS", _age(element.value))
        else:
            out.add(element)
    return out


def _age(value: object) -> str | None:
    """An Age String as AS requires ("081Y"); a bare number of years ("81", seen in the wild)
    is repaired, anything else emptied."""
    text = str(value or "").strip().upper()
    if re.fullmatch(r"\d{3}[DWMY]", text):
        return text
    return f"{int(text):03d}Y" if re.fullmatch(r"\d{1,3}", text) else None


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
    return item


def _declare(ds: Dataset) -> None:
    for keyword in profile.TYPE2_ALWAYS:
        if keyword not in ds:
            setattr(ds, keyword, None)
    for keyword, module_member in profile.TYPE2_WITH.items():
        if module_member in ds and keyword not in ds:
            setattr(ds, keyword, None)
    is_dx = str(ds.get("SOPClassUID", "")).startswith("1.2.840.10008.5.1.4.1.1.1.1")
    if is_dx and "AcquisitionContextSequence" not in ds:
        ds.AcquisitionContextSequence = Sequence()
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    ds.DeidentificationMethodCodeSequence = Sequence(
        [_code(value, meaning) for value, meaning in profile.DECLARED_OPTIONS]
    )
    ds.LongitudinalTemporalInformationModified = "REMOVED"


def _file_meta(ds: Dataset, transfer_syntax: UID) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    return meta


def deidentify_dataset(source: Dataset, uids: UidMap | None = None) -> Dataset:
    """The de-identified copy of a read DICOM file (raises InputError for burned-in text)."""
    refuse_burned_in(source)
    uids = uids or UidMap()
    ds = _copy(source, profile.ALLOWED, uids)
    if "SOPInstanceUID" not in ds or "SOPClassUID" not in ds:
        raise InputError("corrupt", "The DICOM file has no SOP Class or SOP Instance UID.")
    for keyword in MADE_IF_MISSING:
        if not ds.get(keyword):
            setattr(ds, keyword, uids(f"medsegtext-made:{keyword}"))
    _declare(ds)
    ds.file_meta = _file_meta(ds, source.file_meta.TransferSyntaxUID)
    ds.preamble = b"\x00" * 128  # a TIFF header there would point at offsets that moved
    return ds


def deidentify_dicom(data: bytes, uids: UidMap | None = None) -> bytes:
    """Return a de-identified copy of a DICOM Part 10 file (raises on unreadable input)."""
    source = pydicom.dcmread(io.BytesIO(data), force=False)
    ds = deidentify_dataset(source, uids)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
