"""A PNG and a JPEG with PHI planted in every metadata place those formats have, for the
metadata-stripping tests (issue 12).

PNG: tEXt, zTXt, iTXt, eXIf, tIME, iCCP, a private chunk, and a gAMA chunk padded with text
(gAMA is kept only at its spec size). JPEG: an APP0 JFIF thumbnail, EXIF (ImageDescription,
Artist, Make, DateTimeOriginal, UserComment, GPS), XMP, IPTC in APP13, an ICC profile, a
comment, and a second JPEG appended after the first one's end (as MPO files carry previews).
Every planted text is a token found nowhere else, listed in ``planted``, so a test can scan raw
bytes; values that are compressed (zTXt, iCCP) or binary (tIME) are checked by chunk type.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, PngImagePlugin

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class PhiImage:
    data: bytes
    planted: list[str] = field(default_factory=list)


def surviving(planted: list[str], data: bytes) -> list[str]:
    """The planted tokens found anywhere in ``data``'s raw bytes."""
    return [t for t in planted if t.encode("ascii") in data]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def chunk_kinds(png: bytes) -> list[bytes]:
    pos, kinds = len(PNG_SIGNATURE), []
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        kinds.append(kind)
        pos += 12 + length
    return kinds


def jpeg_markers(jpeg: bytes) -> list[int]:
    """The markers before the first scan, in order (SOS last)."""
    pos, markers = 2, []
    while jpeg[pos] == 0xFF:
        marker = jpeg[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        pos += 2 + struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
    return markers


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Smooth-ish random picture: JPEG keeps detail, so any re-encoding would show."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, shape, dtype=np.uint8)
    ramp = np.linspace(0, 120, shape[1], dtype=np.float32)
    ramp = ramp[None, :, None] if len(shape) == 3 else ramp[None, :]
    return np.clip(base // 2 + ramp, 0, 255).astype(np.uint8)


def phi_png() -> PhiImage:
    planted = [
        "PLANTED-TEXT-DOE",
        "PLANTED-ITXT-MRN4471",
        "PLANTED-EXIF-DESC",
        "PLANTED-EXIF-ARTIST",
        "PLANTED-PRIVATE-CHUNK",
        "PLANTED-GAMA-PADDING",
    ]
    info = PngImagePlugin.PngInfo()
    info.add_text("Patient", f"John Doe {planted[0]}")
    info.add_text("Comment", "Patient John Doe, born 1957-04-12 " * 4, zip=True)  # zTXt
    info.add_itxt("Author", planted[1], lang="en", tkey="Auteur")
    info.add(b"tIME", struct.pack(">HBBBBB", 2019, 4, 12, 8, 30, 0))
    info.add(b"prVt", planted[4].encode())
    info.add(b"sBIT", b"\x08")
    exif = Image.Exif()
    exif[0x010E], exif[0x013B] = planted[2], planted[3]
    buf = io.BytesIO()
    Image.fromarray(_noise((72, 96), 1)).save(buf, "PNG", pnginfo=info, exif=exif)
    png = buf.getvalue()
    # before the first IDAT: an ICC profile named for the patient, a pHYs (kept) and a gAMA
    # chunk (kept when it is 4 bytes) stretched to carry text
    at = png.index(b"IDAT") - 4
    extra = (
        png_chunk(b"iCCP", b"DOE JOHN profile\x00\x00" + zlib.compress(b"John Doe" * 8))
        + png_chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
        + png_chunk(b"gAMA", struct.pack(">I", 45455) + planted[5].encode())
    )
    return PhiImage(png[:at] + extra + png[at:], planted)


def _iptc_app13(caption: str) -> bytes:
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption.encode()  # 2:120 Caption
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc))
    return _jpeg_segment(0xED, b"Photoshop 3.0\x00" + resource + iptc + b"\x00" * (len(iptc) & 1))


def _jfif_with_thumbnail(thumbnail: bytes) -> bytes:
    """APP0 JFIF with an uncompressed thumbnail of len(thumbnail) // 3 x 1 pixels."""
    return _jpeg_segment(
        0xE0, b"JFIF\x00\x01\x01\x01\x00\x48\x00\x48" + bytes((len(thumbnail) // 3, 1)) + thumbnail
    )


def phi_jpeg(mode: str = "L", orientation: int | None = None) -> PhiImage:
    planted = [
        "PLANTED-THMB",
        "PLANTED-EXIF-DESC",
        "PLANTED-EXIF-ARTIST",
        "PLANTED-MAKE",
        "1957:04:12 08:30:00",
        "PLANTED-USER-COMMENT",
        "PLANTED-GPS-AREA",
        "PLANTED-XMP-DOE",
        "PLANTED-IPTC-CAPTION",
        "PLANTED-ICC-DESC",
        "PLANTED-COM-MRN4471",
        "PLANTED-TRAILING-JPEG",
    ]
    exif = Image.Exif()
    exif[0x010E], exif[0x013B], exif[0x010F] = planted[1], planted[2], planted[3]
    if orientation is not None:
        exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = planted[4]  # DateTimeOriginal
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00" + planted[5].encode()  # UserComment
    exif.get_ifd(0x8825)[0x001C] = b"ASCII\x00\x00\x00" + planted[6].encode()  # GPSAreaInfo
    exif.get_ifd(0x8825)[0x0001] = "N"
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
        b'02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"'
        b' dc:creator="' + planted[7].encode() + b'"/></rdf:RDF></x:xmpmeta>'
    )
    shape = (80, 64) if mode == "L" else (80, 64, 3)
    buf = io.BytesIO()
    Image.fromarray(_noise(shape, 2)).convert(mode).save(
        buf,
        "JPEG",
        quality=90,
        exif=exif,
        xmp=xmp,
        comment=planted[10].encode(),
        icc_profile=b"\x00" * 128 + planted[9].encode() * 4,
    )
    jpeg = buf.getvalue()
    app0_end = 4 + struct.unpack(">H", jpeg[4:6])[0]  # Pillow writes APP0 JFIF first
    jpeg = (
        jpeg[:2]
        + _jfif_with_thumbnail(planted[0].encode()[:12].ljust(12, b"-"))
        + _iptc_app13(planted[8])
        + jpeg[app0_end:]
    )
    trailing = io.BytesIO()
    Image.new("L", (8, 8), 90).save(trailing, "JPEG", comment=planted[11].encode())
    return PhiImage(jpeg + trailing.getvalue(), planted)
