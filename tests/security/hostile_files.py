"""Hostile uploads, built from the real samples: decompression bombs, polyglots, huge headers.

Each entry is (name, builder, expected InputError code). Run as a script, it decodes every one
in a fresh process and prints, as JSON, the code and message each got plus the process's peak
RSS before and after: the decoder's C libraries (libpng/zlib, libjpeg, pydicom's codecs)
allocate outside tracemalloc's sight, so only the process high-water mark bounds them honestly.
"""

from __future__ import annotations

import io
import json
import resource
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pydicom
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, JPEGBaseline8Bit

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "samples"
PNG_SAMPLE = SAMPLES / "images" / "nih-00000001_000.png"
JPEG_SAMPLE = SAMPLES / "images" / "padchest-16747_3_1.jpg"
DICOM_SAMPLE = SAMPLES / "dicom" / "nccid-ot-512.dcm"  # 512x512, 8-bit, uncompressed
MiB = 2**20


def chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png(width: int, height: int, idat: bytes, extra: bytes = b"") -> bytes:
    """An 8-bit grayscale PNG with valid CRCs; ``extra`` chunks go before the image data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + extra
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def small_png(extra: bytes = b"") -> bytes:
    return png(64, 64, zlib.compress(b"\x00" * 65 * 64), extra)


def zeros_deflated(n: int) -> bytes:
    """``n`` zero bytes, zlib-compressed (about 1000:1)."""
    z = zlib.compressobj(9)
    block = b"\x00" * MiB
    out = [z.compress(block) for _ in range(n // MiB)]
    return b"".join(out) + z.flush()


def small_jpeg(size: tuple[int, int] = (16, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, 100).save(buf, "JPEG")
    return buf.getvalue()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A tiny JPEG whose frame header (SOF0) declares another size."""
    data = bytearray(small_jpeg())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def dicom(
    change: Callable[[pydicom.Dataset], None] | None = None, syntax: str | None = None
) -> bytes:
    ds = pydicom.dcmread(DICOM_SAMPLE)
    if change:
        change(ds)
    if syntax:
        ds.file_meta.TransferSyntaxUID = syntax
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def dicom_with_jpeg_frame(width: int, height: int) -> bytes:
    """The 512x512 sample with its pixels as a JPEG frame that declares width x height."""

    def change(ds: pydicom.Dataset) -> None:
        buf = io.BytesIO()
        Image.fromarray(ds.pixel_array).save(buf, "JPEG")
        frame = bytearray(buf.getvalue())
        sof = frame.find(b"\xff\xc0")
        frame[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
        ds.PixelData = encapsulate([bytes(frame)])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True

    return dicom(change, JPEGBaseline8Bit)


def dicom_deflate_bomb() -> bytes:
    """A deflated data set with 300 MiB of zeros in a private element: ~300 KiB on disk."""

    def change(ds: pydicom.Dataset) -> None:
        ds.add_new(0x00091010, "OB", b"\x00" * (300 * MiB))

    return dicom(change, DeflatedExplicitVRLittleEndian)


def dicom_with_preamble(preamble: bytes) -> bytes:
    data = DICOM_SAMPLE.read_bytes()
    return preamble.ljust(128, b" ") + data[128:]


def dicom_huge_element_length() -> bytes:
    """Explicit VR: a private OB element declaring 4 GiB - 2 bytes, in a 1 KiB file."""
    header = dicom(lambda ds: ds.__delitem__("PixelData"), ExplicitVRLittleEndian)
    return header + struct.pack("<HH2sHI", 0x0009, 0x1010, b"OB", 0, 0xFFFFFFFE) + b"\x00" * 512


def dicom_rows_columns(rows: int, columns: int) -> bytes:
    def change(ds: pydicom.Dataset) -> None:
        ds.Rows, ds.Columns = rows, columns

    return dicom(change)


HOSTILE: list[tuple[str, Callable[[], bytes], str]] = [
    # decompression bombs
    (
        "png 65535x65535 declared",
        lambda: png(65535, 65535, zlib.compress(b"\x00" * 16)),
        "too_many_pixels",
    ),
    (
        "png 8000x8000 declared (64 Mpx)",
        lambda: png(8000, 8000, zeros_deflated(8 * MiB)),
        "too_many_pixels",
    ),
    (
        "png IDAT zlib bomb, 64x64 over 200 MiB",
        lambda: png(64, 64, zeros_deflated(200 * MiB)),
        "corrupt",
    ),
    (
        "png IDAT zlib bomb, 4000x4000 over 200 MiB",
        lambda: png(4000, 4000, zeros_deflated(200 * MiB)),
        "corrupt",
    ),
    (
        "png zTXt bomb 100 MiB",
        lambda: small_png(chunk(b"zTXt", b"comment\x00\x00" + zeros_deflated(100 * MiB))),
        "corrupt",
    ),
    (
        "png iCCP bomb 100 MiB",
        lambda: small_png(chunk(b"iCCP", b"icc\x00\x00" + zeros_deflated(100 * MiB))),
        "corrupt",
    ),
    (
        "png iTXt bomb 100 MiB",
        lambda: small_png(chunk(b"iTXt", b"k\x00\x01\x00\x00\x00" + zeros_deflated(100 * MiB))),
        "corrupt",
    ),
    ("jpeg SOF 65000x65000 declared", lambda: jpeg_declaring(65000, 65000), "too_many_pixels"),
    ("jpeg SOF 16384x4000 side limit", lambda: jpeg_declaring(16385, 100), "too_many_pixels"),
    ("dicom Rows/Columns 60000", lambda: dicom_rows_columns(60000, 60000), "too_many_pixels"),
    (
        "dicom Rows/Columns 6000, short pixel data",
        lambda: dicom_rows_columns(6000, 6000),
        "corrupt",
    ),
    (
        "dicom JPEG frame 20000x20000 under a 512x512 header",
        lambda: dicom_with_jpeg_frame(20000, 20000),
        "corrupt",
    ),
    ("dicom deflated data set bomb 300 MiB", dicom_deflate_bomb, "too_large"),
    # polyglots
    ("png + zip appended", lambda: small_png() + b"PK\x03\x04" + b"\x00" * 200, "corrupt"),
    (
        "jpeg + php appended",
        lambda: JPEG_SAMPLE.read_bytes() + b"<?php system($_GET['c']); ?>",
        "corrupt",
    ),
    (
        "jpeg + html appended",
        lambda: small_jpeg() + b"<html><script>alert(document.cookie)</script></html>",
        "corrupt",
    ),
    (
        "dicom preamble with html/script",
        lambda: dicom_with_preamble(b"<html><script>alert(1)</script></html>"),
        "corrupt",
    ),
    (
        "svg named .png",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "unsupported_format",
    ),
    (
        "html named .png",
        lambda: b"<!doctype html><html><body onload=alert(1)></body></html>",
        "unsupported_format",
    ),
    ("zip named .png", lambda: b"PK\x03\x04" + b"\x00" * 100, "unsupported_format"),
    ("pdf named .dcm", lambda: b"%PDF-1.7\n" + b"\x00" * 100, "unsupported_format"),
    # huge headers
    (
        "png 5000 tEXt chunks",
        lambda: small_png(b"".join(chunk(b"tEXt", b"k%d\x00v" % i) for i in range(5000))),
        "corrupt",
    ),
    (
        "png 30 MiB tEXt chunk",
        lambda: small_png(chunk(b"tEXt", b"k\x00" + b"A" * 30 * MiB)),
        "corrupt",
    ),
    (
        "png chunk declaring 2 GiB",
        lambda: small_png()[:33] + struct.pack(">I", 2**31 - 1) + b"tEXt" + b"A" * 100,
        "corrupt",
    ),
    (
        "jpeg 200 x 64 KiB COM segments",
        lambda: (
            lambda j: (
                j[:2] + b"".join(b"\xff\xfe\xff\xff" + b"C" * 65533 for _ in range(200)) + j[2:]
            )
        )(small_jpeg()),
        "corrupt",
    ),
    ("dicom element declaring 4 GiB", dicom_huge_element_length, "corrupt"),
]


def write_all(directory: Path) -> None:
    """Build every hostile file into ``directory`` (in the caller's process, so that building
    300 MiB of zeros does not count against the decoding process's memory)."""
    for i, (_, build, _) in enumerate(HOSTILE):
        (directory / f"{i:03d}.bin").write_bytes(build())


def main(directory: Path) -> None:
    """Decode every file written by write_all in this fresh process; print codes, messages
    and how far the peak RSS grew while decoding them."""
    from inference.decode import decode
    from inference.errors import InputError

    for sample in (PNG_SAMPLE, JPEG_SAMPLE, DICOM_SAMPLE):
        decode(sample.read_bytes())  # load every decoder once
    largest = max(len((directory / f"{i:03d}.bin").read_bytes()) for i in range(len(HOSTILE)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = {}
    for i, (name, _, _) in enumerate(HOSTILE):
        data = (directory / f"{i:03d}.bin").read_bytes()
        try:
            image = decode(data)
            results[name] = {"code": None, "message": f"decoded {image.width}x{image.height}"}
        except InputError as e:
            results[name] = {"code": e.code, "message": e.message}
        except Exception as e:  # reported; the test fails on it
            results[name] = {"code": f"unexpected {type(e).__name__}", "message": str(e)}
        del data
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    json.dump(
        {"results": results, "peak_rss_growth_kib": growth, "largest_file_kib": largest // 1024},
        sys.stdout,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
