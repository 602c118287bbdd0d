"""What the de-identification backfill (backend.cases.backfill) does with one stored film:
decided from the file alone, blocking (run it in a thread), no I/O.

DICOM: a file is already done when de-identifying it again, keeping its UIDs, gives back the
very same bytes: then it carries our markers (PatientIdentityRemoved YES, our
DeidentificationMethod, our ImplementationClassUID and ImplementationVersionName in the file
meta) and nothing outside the current allow-list. A file stored by an older profile, or before
there was one, fails this, and so does one stored by a future profile version once
IMPLEMENTATION_VERSION changes: the check follows the code, so no marker column is needed in the
case row.

PNG and JPEG: a file is already done when stripping its metadata (backend.cases.strip_metadata,
as uploads are stripped) gives back the very same bytes. Otherwise the stripped file is the new
one, which must decode to exactly the stored file's pixels (the upload's own check).

A new file is written only if it is itself done by that test (so a second run rewrites nothing),
keeps the pixels (DICOM: the pixel data byte for byte; PNG/JPEG: every decoded pixel), and still
decodes to the size the case row records.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Literal

import pydicom
from pydicom.dataset import Dataset

from backend.cases.deidentify import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION,
    METHOD,
    UidMap,
    deidentify_dataset,
    deidentify_dicom,
)
from backend.cases.strip_metadata import without_metadata
from inference.decode import decode, sniff_format
from inference.errors import InputError
from inference.image import DecodedImage, Limits

Action = Literal["done", "rewrite", "burned_in"]


class Unfit(Exception):
    """This file cannot be backfilled; the message is shown to the operator (never PHI)."""


@dataclass(frozen=True)
class Plan:
    action: Action
    data: bytes  # the bytes the object should hold: the new file for "rewrite", else as read
    sha256: str


class _KeepUids(UidMap):
    """The identity map: re-de-identifying a done file must not change its UIDs."""

    def __call__(self, old: str) -> str:
        return old


def _read(data: bytes) -> Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data), force=False)
    except Exception as e:  # pydicom raises many kinds; the file is not a readable Part 10
        raise Unfit(f"the stored file is not readable DICOM ({type(e).__name__})") from None


def _save(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _marked(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    return (
        str(ds.get("PatientIdentityRemoved", "")).upper() == "YES"
        and str(ds.get("DeidentificationMethod", "")) == METHOD
        and meta is not None
        and str(meta.get("ImplementationClassUID", "")) == IMPLEMENTATION_CLASS_UID
        and str(meta.get("ImplementationVersionName", "")) == IMPLEMENTATION_VERSION
    )


def burned_in(ds: Dataset) -> bool:
    return str(ds.get("BurnedInAnnotation") or "").strip().upper() == "YES"


def is_done(data: bytes, ds: Dataset | None = None) -> bool:
    """True if ``data`` is what the current de-identification stores (see the module doc)."""
    ds = ds if ds is not None else _read(data)
    if not _marked(ds) or burned_in(ds):
        return False
    try:
        return _save(deidentify_dataset(ds, _KeepUids())) == data
    except InputError:
        return False


def _pixel_data(ds: Dataset) -> bytes:
    value = ds.get("PixelData")
    return bytes(value) if value is not None else b""


def _limits(data: bytes) -> Limits:
    """Upload's limits, except the byte limit: a stored film already passed it (or an older
    one), and refusing it now would leave its PHI in place."""
    return Limits(max_bytes=max(len(data), Limits.max_bytes))


def _check_size(image: DecodedImage, width: int | None, height: int | None) -> None:
    if (width, height) != (None, None) and (image.width, image.height) != (width, height):
        raise Unfit(
            f"the new film is {image.width}x{image.height}, the case row says {width}x{height}"
        )


def _plan_dicom(data: bytes, width: int | None, height: int | None) -> Plan:
    ds = _read(data)
    if burned_in(ds):
        return Plan("burned_in", data, hashlib.sha256(data).hexdigest())
    if is_done(data, ds):
        return Plan("done", data, hashlib.sha256(data).hexdigest())
    try:
        new = deidentify_dicom(data)
    except InputError as e:
        raise Unfit(f"de-identification refused the file: {e.message}") from None
    new_ds = pydicom.dcmread(io.BytesIO(new))
    if not is_done(new, new_ds):
        raise Unfit("de-identifying the file again would change it (not stable); not written")
    if _pixel_data(new_ds) != _pixel_data(ds):
        raise Unfit("the de-identified file's pixel data differs from the stored one")
    try:
        image = decode(new, _limits(new))
    except InputError as e:
        raise Unfit(f"the de-identified file does not decode: {e.message}") from None
    _check_size(image, width, height)
    return Plan("rewrite", new, hashlib.sha256(new).hexdigest())


def _plan_image(data: bytes, fmt: str, width: int | None, height: int | None) -> Plan:
    """PNG or JPEG: strip as an upload is stripped; refused if the picture would change."""
    label, limits = fmt.upper(), _limits(data)
    try:
        if sniff_format(data) != fmt:
            raise Unfit(f"the stored file is not a readable {label}")
        image = decode(data, limits)
    except InputError as e:
        raise Unfit(f"the stored file is not a readable {label} ({e.code})") from None
    try:
        new = without_metadata(data, image, limits)
    except InputError:
        raise Unfit(
            f"the {label} cannot be stored without its metadata: its picture would "
            "change; not written (a person must re-save it as a plain file)"
        ) from None
    if new == data:
        return Plan("done", data, hashlib.sha256(data).hexdigest())
    try:
        again = decode(new, limits)
        stable = without_metadata(new, again, limits) == new
    except InputError:
        stable = False
    if not stable:
        raise Unfit(f"stripping the {label} again would change it (not stable); not written")
    _check_size(again, width, height)
    return Plan("rewrite", new, hashlib.sha256(new).hexdigest())


def plan(data: bytes, width: int | None, height: int | None, source_format: str = "dicom") -> Plan:
    """What to do with one stored film of the case row's ``source_format`` (raises Unfit with
    the reason)."""
    if source_format == "dicom":
        return _plan_dicom(data, width, height)
    if source_format in ("png", "jpeg"):
        return _plan_image(data, source_format, width, height)
    raise Unfit(f"the case's stored format {source_format!r} is not one this command handles")
