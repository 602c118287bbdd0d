"""PNG and JPEG uploads are stored without their metadata (issue 12): the pixels, kept byte for
byte, and only what decoding them needs.

Why: cameras, scanners and PACS exports write patient details beside the pixels: PNG text
chunks ("Patient: John Doe"), EXIF (dates, device, GPS, ImageDescription, Artist, UserComment,
a thumbnail of the uncropped original), XMP, IPTC, ICC descriptions and JPEG comments. None of it
is needed to read the film, and all of it was served back by GET /api/cases/{id}/image.

How: the container is walked with the upload checks' own walkers (inference.containers) and
rebuilt from an allow-list; image data (IDAT, JPEG scans) is copied unchanged, never
re-encoded. Nothing after the image's end is kept (appended preview JPEGs of an MPO included).
The one fact the decoder takes from metadata, a JPEG's orientation (EXIF, or XMP when EXIF has
none), is written back as a minimal EXIF segment holding that tag alone. The result is decoded
again and must give exactly the pixels the upload gave; otherwise the upload is refused rather
than stored with its metadata or as a different picture.
"""

from __future__ import annotations

import struct

import numpy as np

from inference.containers import jpeg_segments, png_chunks
from inference.decode import decode
from inference.errors import InputError
from inference.image import DecodedImage, Limits

__all__ = ["strip_jpeg", "strip_png", "without_metadata"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks kept, with the payload sizes the PNG spec allows them (None: any). Each is numbers
# about how to draw the pixels, with no room for text: a chunk of another size is dropped.
_PNG_KEEP: dict[bytes, tuple[int, ...] | None] = {
    b"IHDR": None,
    b"IDAT": None,
    b"IEND": None,  # critical
    b"PLTE": None,
    b"tRNS": None,  # bounded below by the colour type
    b"gAMA": (4,),
    b"cHRM": (32,),
    b"sRGB": (1,),
    b"pHYs": (9,),
    b"sBIT": (1, 2, 3, 4),
    b"bKGD": (1, 2, 6),
}
_TRNS_SIZES = {0: 2, 2: 6}  # grey, RGB; palette: at most one byte per PLTE entry
_PALETTE = 3  # the colour type whose pixels are PLTE entries (elsewhere PLTE is a mere hint)

_EOI, _APP0, _APP14 = 0xD9, 0xE0, 0xEE
# Markers kept besides APP0 JFIF and APP14 Adobe: frames, tables, scans, restarts.
_JPEG_KEEP = (
    frozenset(range(0xC0, 0xD0)) - {0xC8}  # SOFn, DHT, DAC (0xC8 is reserved)
    | frozenset(range(0xD0, 0xD8))  # RSTn
    | {0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF}
)  # SOS, DQT, DNL, DRI, DHP, EXP
_JFIF_CORE = 14  # "JFIF\0", version (2), units (1), density (4), thumbnail size (2)
_ADOBE_CORE = 12  # "Adobe", version (2), flags0 (2), flags1 (2), colour transform (1)
_ORIENTATIONS = range(2, 9)  # EXIF values that turn or flip the picture


def strip_png(data: bytes) -> bytes:
    """The PNG with only the chunks of _PNG_KEEP (at their spec sizes), copied as they are."""
    out, color, palette = [_PNG_SIGNATURE], -1, 0
    for chunk in png_chunks(data):
        kind = chunk.kind
        assert isinstance(kind, bytes)
        if kind not in _PNG_KEEP:
            continue
        size = chunk.end - chunk.start - 12
        allowed = _PNG_KEEP[kind]
        if kind == b"IHDR" and size == 13:
            color = data[chunk.start + 17]
        elif kind == b"PLTE":
            allowed = tuple(range(3, 769, 3)) if color == _PALETTE else ()
            palette = size // 3
        elif kind == b"tRNS":
            allowed = (
                tuple(range(1, palette + 1))
                if color == _PALETTE
                else (_TRNS_SIZES[color],)
                if color in _TRNS_SIZES
                else ()
            )
        if allowed is not None and size not in allowed:
            continue
        out.append(data[chunk.start : chunk.end])
    return b"".join(out)


def _jfif(payload: bytes) -> bytes | None:
    """APP0 JFIF without its thumbnail (a picture of its own), or None for other APP0s."""
    if not payload.startswith(b"JFIF\x00") or len(payload) < _JFIF_CORE:
        return None
    return payload[: _JFIF_CORE - 2] + b"\x00\x00"


def _adobe(payload: bytes) -> bytes | None:
    """APP14 Adobe (its colour transform decides how the scans are decoded), else None."""
    if not payload.startswith(b"Adobe") or len(payload) < _ADOBE_CORE:
        return None
    return payload[:_ADOBE_CORE]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def orientation_exif(orientation: int) -> bytes:
    """An APP1 EXIF segment with one tag, Orientation (0x0112, SHORT), and nothing else."""
    tiff = (
        b"MM\x00\x2a"
        + struct.pack(">I", 8)  # big-endian header, IFD0 at offset 8
        + struct.pack(">H", 1)  # one entry
        + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
        + struct.pack(">I", 0)
    )  # no next IFD (no thumbnail)
    return _segment(0xE1, b"Exif\x00\x00" + tiff)


def strip_jpeg(data: bytes, orientation: int | None = None) -> bytes:
    """The first JPEG of the file with only frames, tables, scans, APP0 JFIF (no thumbnail) and
    APP14 Adobe, plus an EXIF Orientation tag when ``orientation`` turns the picture."""
    head, body = [b"\xff\xd8"], []
    for segment in jpeg_segments(data, 0):
        marker = segment.kind
        assert isinstance(marker, int)
        raw = data[segment.start : segment.end]
        if marker in _JPEG_KEEP or marker == _EOI:
            body.append(raw)
        elif marker in (_APP0, _APP14):
            kept = (_jfif if marker == _APP0 else _adobe)(raw[4:])
            if kept is not None:
                (head if marker == _APP0 and len(body) == 0 else body).append(
                    _segment(marker, kept)
                )
    if orientation is not None and orientation in _ORIENTATIONS:
        head.append(orientation_exif(orientation))
    return b"".join(head + body)


def _orientation(image: DecodedImage) -> int | None:
    value = image.meta.get("exif_orientation")
    return int(value) if value is not None and value.isdigit() else None


def without_metadata(data: bytes, image: DecodedImage, limits: Limits) -> bytes:
    """The PNG or JPEG ``data`` (already decoded to ``image``) without its metadata; refused
    with an InputError if that would change a single decoded pixel."""
    if image.format == "png":
        stripped = strip_png(data)
    elif image.format == "jpeg":
        stripped = strip_jpeg(data, _orientation(image))
    else:
        raise ValueError(f"not a PNG or JPEG: {image.format}")
    if stripped == data:
        return data  # nothing to remove: the upload is its own proof
    try:
        again = decode(stripped, limits)
        same = again.pixels.shape == image.pixels.shape and bool(
            np.array_equal(again.pixels, image.pixels)
        )
    except InputError:
        same = False
    if not same:
        label = image.format.upper()
        raise InputError(
            "unsupported_format",
            f"This {label} cannot be stored without its metadata (text, EXIF, XMP, comments, "
            "which may name the patient) because its picture depends on them; save it again "
            f"as a plain {label} and upload that.",
        )
    return stripped
