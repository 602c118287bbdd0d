"""DICOM uploads -> display-ready grayscale, as a reading workstation would show them.

Order matters and follows PS3.4 N.2: modality LUT (rescale), then VOI LUT or window, then
MONOCHROME1 inversion, so the model sees the same picture a radiologist does. Non-images (SR, PDF,
presentation states...), multi-frame objects and oversize images are refused from the header,
before the pixel data is touched. Only non-identifying header values reach ``meta``.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments
from pydicom.errors import InvalidDicomError
from pydicom.filereader import _read_file_meta_info, read_preamble
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.uid import DeflatedExplicitVRLittleEndian

from inference.containers import codestream_size, inflated_size
from inference.errors import InputError
from inference.image import DecodedImage, Limits, check_dimensions, luminance

__all__ = ["decode_dicom"]

# SOP class UID prefixes (PS3.4 B.5) of objects that carry no radiograph.
_NON_IMAGE_SOP_PREFIXES: tuple[tuple[str, str], ...] = (
    ("1.2.840.10008.5.1.4.1.1.88.", "a structured report or key object selection"),
    ("1.2.840.10008.5.1.4.1.1.104.", "an encapsulated document (PDF, CDA or 3D model)"),
    ("1.2.840.10008.5.1.4.1.1.11.", "a presentation state"),
    ("1.2.840.10008.5.1.4.1.1.9.", "a waveform (ECG or audio)"),
    ("1.2.840.10008.5.1.4.1.1.66", "a segmentation, registration or raw-data object"),
    ("1.2.840.10008.5.1.4.1.1.481.", "a radiotherapy object"),
    ("1.2.840.10008.1.3.10", "a DICOMDIR media directory"),
)
_NON_IMAGE_MODALITIES: dict[str, str] = {
    "SR": "a structured report (SR)",
    "KO": "a key object selection (KO)",
    "PR": "a presentation state (PR)",
    "DOC": "an encapsulated document (DOC)",
    "SEG": "a segmentation (SEG)",
    "REG": "a registration (REG)",
    "RTSTRUCT": "a radiotherapy structure set",
    "RTPLAN": "a radiotherapy plan",
    "RTDOSE": "a radiotherapy dose grid",
    "RTRECORD": "a radiotherapy record",
    "ECG": "a waveform (ECG)",
    "AU": "an audio recording",
}
_MONOCHROME = ("MONOCHROME1", "MONOCHROME2")
_COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "YBR_PARTIAL_420")


def decode_dicom(data: bytes, limits: Limits) -> DecodedImage:
    """Decode one single-frame DICOM image; raise InputError with the reason otherwise."""
    _check_container(data, limits)
    ds = _read(data)
    _refuse_non_image(ds)
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames") or 1)
        samples = int(ds.get("SamplesPerPixel") or 1)
        bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    except (AttributeError, TypeError, ValueError) as exc:
        raise InputError("corrupt", f"The DICOM image header is incomplete: {exc}.") from exc
    check_dimensions(cols, rows, limits)
    if frames > 1:
        raise InputError(
            "multi_frame",
            f"The DICOM file holds {frames} frames (a cine, tomosynthesis or multi-image "
            "object); upload a single radiograph.",
        )
    if ds.file_meta.TransferSyntaxUID.is_encapsulated:
        _check_frame_size(ds, cols, rows)
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if photometric not in (*_MONOCHROME, *_COLOUR, "PALETTE COLOR") or samples not in (1, 3):
        raise InputError(
            "unsupported_format",
            f"DICOM photometric interpretation {photometric or '(missing)'} with "
            f"{samples} samples per pixel is not supported.",
        )
    arr = _pixel_array(ds)
    try:
        pixels, voi = _to_display(arr, ds, photometric, bits)
    except InputError:
        raise
    except Exception as exc:  # bad LUT descriptors and the like
        raise InputError(
            "corrupt", f"The DICOM display settings cannot be applied: {exc}."
        ) from exc
    meta = {
        "photometric_interpretation": photometric,
        "transfer_syntax": ds.file_meta.TransferSyntaxUID.name,
        "voi": voi,
    }
    for key, keyword in (
        ("modality", "Modality"),
        ("sop_class", "SOPClassUID"),
        ("body_part", "BodyPartExamined"),
        ("view_position", "ViewPosition"),
        ("patient_orientation", "PatientOrientation"),
    ):
        value = ds.get(keyword)
        if value:
            if keyword == "PatientOrientation" and not isinstance(value, str):
                value = "\\".join(str(v) for v in value)  # multi-valued: "R\\F"
            meta[key] = str(getattr(value, "name", value))
    h, w = pixels.shape
    return DecodedImage(pixels=pixels, format="dicom", width=w, height=h, bits=bits, meta=meta)


def _check_container(data: bytes, limits: Limits) -> None:
    """Before pydicom parses the data set: the preamble holds nothing but zeros or a TIFF
    header (elsewhere it is where polyglot files hide HTML or scripts), and a deflated data set
    inflates to a bounded size (pydicom would inflate all of it in memory)."""
    preamble = data[:128]
    if preamble.strip(b"\x00") and not preamble.startswith((b"II*\x00", b"MM\x00*")):
        raise InputError(
            "corrupt",
            "The DICOM preamble (the first 128 bytes) holds data that is neither zeros nor a "
            "TIFF header, as in a file disguised as DICOM (e.g. HTML or a script in front); "
            "export the image again from the PACS.",
        )
    fp = io.BytesIO(data)
    try:
        read_preamble(fp, False)
        meta = _read_file_meta_info(fp)
    except Exception:
        return  # _read names what is wrong
    if meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
        return
    limit = 2 * limits.max_bytes
    try:
        size = inflated_size(data[fp.tell() :], limit, raw=True)
    except zlib.error as exc:
        raise InputError("corrupt", f"The deflated DICOM data set is damaged: {exc}.") from exc
    if size > limit:
        raise InputError(
            "too_large",
            f"The deflated DICOM data set inflates to more than {limit // 2**20} MiB "
            "(a decompression bomb?); the limit is twice the upload limit.",
        )


def _check_frame_size(ds: Dataset, cols: int, rows: int) -> None:
    """A compressed frame must declare the size the header does: the codec allocates what the
    frame declares, so a 512x512 header over a 60000x60000 JPEG would cost gigabytes."""
    try:
        buffer = io.BytesIO(ds.PixelData)
        buffer.seek(8 + struct.unpack("<I", ds.PixelData[4:8])[0])  # past the offset table
        size = codestream_size(next(generate_fragments(buffer)))
    except Exception:
        return  # no readable fragment: decoding fails with its own message
    if size is not None and size != (cols, rows):
        raise InputError(
            "corrupt",
            f"The DICOM compressed frame declares {size[0]}x{size[1]} pixels but the header "
            f"says {cols}x{rows}; the file is damaged or forged.",
        )


def _read(data: bytes) -> Dataset:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError as exc:
        raise InputError("corrupt", f"The DICOM header cannot be read: {exc}.") from exc
    except MemoryError:
        raise
    except Exception as exc:
        raise InputError("corrupt", f"The DICOM file is truncated or damaged: {exc}.") from exc
    if "TransferSyntaxUID" not in ds.file_meta:
        raise InputError("corrupt", "The DICOM file is truncated: it ends inside its header.")
    return ds


def _refuse_non_image(ds: Dataset) -> None:
    """Name what a non-image object is, and tell a stripped image from a truncated file."""
    sop = str(ds.get("SOPClassUID") or ds.file_meta.get("MediaStorageSOPClassUID") or "")
    modality = str(ds.get("Modality") or "").strip().upper()
    what = _NON_IMAGE_MODALITIES.get(modality)
    for prefix, name in _NON_IMAGE_SOP_PREFIXES:
        if sop.startswith(prefix):
            what = name
    if what:
        raise InputError(
            "not_an_image", f"This DICOM file is {what}, not an image; upload the radiograph."
        )
    if "PixelData" in ds:
        return
    if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        raise InputError(
            "unsupported_format", "DICOM float pixel data (parametric maps) is not supported."
        )
    if "Rows" in ds and "Columns" in ds:
        raise InputError(
            "no_pixel_data",
            f"The DICOM file has an image header ({ds.Columns}x{ds.Rows}) but no pixel data; "
            "the pixels were stripped or the file is truncated.",
        )
    if sop:
        raise InputError(
            "not_an_image",
            f"This DICOM file ({pydicom.uid.UID(sop).name}) holds no image; upload the radiograph.",
        )
    raise InputError("corrupt", "The DICOM file is truncated: it ends before the image header.")


def _pixel_array(ds: Dataset) -> np.ndarray:
    tsyntax = ds.file_meta.TransferSyntaxUID
    try:
        available = get_decoder(tsyntax).is_available
    except NotImplementedError:
        available = False
    if not available:
        raise InputError(
            "unsupported_format",
            f"DICOM transfer syntax '{tsyntax.name}' ({tsyntax}) cannot be decoded here.",
        )
    try:
        arr = ds.pixel_array
    except MemoryError:
        raise
    except Exception as exc:
        raise InputError(
            "corrupt", f"The DICOM pixel data cannot be decoded ({tsyntax.name}): {exc}."
        ) from exc
    if arr.ndim not in (2, 3):
        raise InputError("corrupt", f"The DICOM pixel data has an unexpected shape {arr.shape}.")
    return arr


def _to_display(
    arr: np.ndarray, ds: Dataset, photometric: str, bits: int
) -> tuple[np.ndarray, str]:
    """Stored values -> float32 [0, 1] as displayed; also says which VOI step was used."""
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        return luminance(rgb, float(np.iinfo(rgb.dtype).max)), "palette"
    if photometric in _COLOUR:
        if arr.ndim != 3:
            raise InputError("corrupt", "The DICOM colour image does not have three samples.")
        return luminance(arr, float(2**bits - 1)), "none"
    if arr.ndim != 2:
        raise InputError("corrupt", "The DICOM grayscale image has more than one sample.")
    values = apply_modality_lut(arr, ds)
    pixels, voi = _apply_voi(values, ds)
    if photometric == "MONOCHROME1":  # low values are white: invert to MONOCHROME2
        pixels = np.subtract(np.float32(1.0), pixels, out=pixels)
    return pixels, voi


def _apply_voi(values: np.ndarray, ds: Dataset) -> tuple[np.ndarray, str]:
    """VOI LUT or window to [0, 1]; min-max when absent or invalid.

    The output range of pydicom's VOI step depends on rescale, sign and LUT depth, so it is
    measured by sending the step its extreme inputs rather than re-deriving those rules here.
    """
    if ds.get("VOILUTSequence"):
        try:
            item = ds.VOILUTSequence[0]
            entries, first = int(item.LUTDescriptor[0]) or 2**16, int(item.LUTDescriptor[1])
            out = apply_voi_lut(np.rint(values).astype(np.int64), ds)
            table = apply_voi_lut(np.arange(first, first + entries, dtype=np.int64), ds)
            return _scale(out, float(table.min()), float(table.max())), "lut"
        except (AttributeError, IndexError, KeyError, TypeError, ValueError, NotImplementedError):
            pass  # a broken LUT: fall through to the window, then min-max
    if "WindowCenter" in ds and "WindowWidth" in ds:
        try:
            out = apply_voi_lut(values, ds, prefer_lut=False)
            with np.errstate(over="ignore"):
                ends = apply_voi_lut(np.array([-1e30, 1e30]), ds, prefer_lut=False)
            return _scale(out, float(ends[0]), float(ends[1])), "window"
        except (AttributeError, IndexError, TypeError, ValueError):
            pass  # e.g. width < 1: show the whole range instead
    lo, hi = float(np.min(values)), float(np.max(values))
    return _scale(values, lo, hi), "minmax"


def _scale(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi == lo:
        return np.zeros(values.shape, dtype=np.float32)
    out = (values.astype(np.float32) - np.float32(lo)) / np.float32(hi - lo)
    return np.clip(out, 0.0, 1.0, out=out)
