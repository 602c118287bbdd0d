"""Structural checks on an upload's container, run before any decoder sees the bytes.

Decoders are generous: Pillow ignores bytes after a PNG's IEND or a JPEG's EOI, inflates only as
much image data as it needs, and keeps megabytes of text chunks; pydicom inflates a deflated data
set whole and lets the codec allocate whatever size a compressed frame declares. Each of those
is a way to smuggle a payload (polyglot files) or to make a small upload cost gigabytes
(decompression bombs), so the container is walked here first, cheaply and with bounded memory,
and anything that does not hold together is refused with an InputError saying what was seen.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from inference.errors import InputError

__all__ = [
    "MAX_METADATA_BYTES",
    "MAX_SEGMENTS",
    "Segment",
    "check_jpeg",
    "check_png",
    "codestream_size",
    "inflated_size",
    "jpeg_segments",
    "png_chunks",
]

MAX_METADATA_BYTES = 8 * 2**20  # text, ICC profile, EXIF...: a radiograph needs far less
MAX_SEGMENTS = 4096  # chunks or marker segments per image
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)  # (x0, y0, dx, dy) of the seven interlace passes
_INFLATE_STEP = 2**20


def _trailing(data: bytes, end: int, label: str) -> None:
    """Refuse bytes after the image's end, unless they are zero or 0xFF padding."""
    rest = data[end:]
    if rest.strip(b"\x00\xff"):
        raise InputError(
            "corrupt",
            f"The {label} has {len(rest)} bytes of other data after the end of the image "
            "(a file appended to it, e.g. an archive or a script); upload the image alone.",
        )


def inflated_size(stream: bytes, limit: int, *, raw: bool = False) -> int:
    """Bytes a zlib (or raw deflate) stream inflates to, counting at most ``limit`` + 1 of them
    without keeping them. Raises zlib.error for a broken stream."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    total, pending = 0, stream
    while pending and total <= limit:
        total += len(inflater.decompress(pending, _INFLATE_STEP))
        pending = inflater.unconsumed_tail
    return total


def _png_raw_size(width: int, height: int, depth: int, color: int, interlaced: bool) -> int:
    """Filtered scanline bytes the IDAT stream must inflate to (PNG spec, section 7.2)."""
    bits = depth * _PNG_CHANNELS.get(color, 4)
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if w > 0 and h > 0:
            total += h * (1 + (w * bits + 7) // 8)
    return total


@dataclass(frozen=True)
class Segment:
    """One PNG chunk or JPEG marker segment: ``data[start:end]`` is all of it (for a JPEG scan,
    its header and the entropy-coded data that follows, up to the next marker)."""

    kind: bytes | int  # the PNG chunk type, or the JPEG marker's second byte
    start: int
    end: int


def png_chunks(data: bytes) -> Iterator[Segment]:
    """The chunks of a PNG in order, IEND last. Stops early, silently, when the file ends in
    its image data or between chunks (the decoder names that); refuses any other cut."""
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if pos + 12 + length > len(data):
            if kind == b"IDAT":
                return  # cut off in the image data: the decoder names it
            raise InputError(
                "corrupt",
                f"The PNG is truncated or damaged: its {kind.decode('latin-1')!r} chunk "
                f"declares {length} bytes but the file ends before them.",
            )
        yield Segment(kind, pos, pos + 12 + length)
        if kind == b"IEND":
            return
        pos += 12 + length


def check_png(data: bytes, max_pixels: int) -> None:
    """Walk the chunks: bounded count and metadata, nothing after IEND, and image data that
    inflates to no more than the header declares (not inflated at all past ``max_pixels``:
    the caller refuses that size from the header)."""
    metadata, idat, end = 0, [], 0
    header: tuple[int, int, int, int, int] | None = None
    for count, chunk in enumerate(png_chunks(data), 1):
        kind, length = chunk.kind, chunk.end - chunk.start - 12
        body = data[chunk.start + 8 : chunk.end - 4]
        if kind == b"IHDR" and len(body) == 13:
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            header = (w, h, depth, color, interlace)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind != b"IEND":
            metadata += length
        if count > MAX_SEGMENTS or metadata > MAX_METADATA_BYTES:
            raise InputError(
                "corrupt",
                f"The PNG carries {count} chunks and {metadata} bytes of metadata; the limits "
                f"are {MAX_SEGMENTS} chunks and {MAX_METADATA_BYTES // 2**20} MiB.",
            )
        if kind == b"IEND":
            end = chunk.end
    if not end:
        return  # truncated: the decoder names it
    _trailing(data, end, "PNG")
    if header is None or not idat:
        return  # the decoder refuses it with its own words
    w, h, depth, color, interlace = header
    if w * h > max_pixels:
        return
    expected = _png_raw_size(w, h, depth, color, interlace == 1)
    try:
        got = inflated_size(b"".join(idat), expected)
    except zlib.error:
        return  # damaged data: the decoder says so
    if got > expected:
        raise InputError(
            "corrupt",
            f"The PNG image data inflates to more than its declared {w}x{h} pixels need "
            f"({expected} bytes): a decompression bomb or hidden data.",
        )


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}  # JPEG SOFn, JPEG-LS SOF55
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn, TEM: no length field
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # skips stuffed bytes and restarts


def jpeg_segments(data: bytes, pos: int = 0) -> Iterator[Segment]:
    """The marker segments of the JPEG whose SOI is at ``pos``, after the SOI, in order, EOI
    last (fill bytes before a marker are skipped). Refuses a file that ends before its EOI."""
    pos += 2
    while True:
        while data[pos : pos + 1] == b"\xff" and data[pos + 1 : pos + 2] == b"\xff":
            pos += 1  # fill bytes before a marker
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise InputError("corrupt", "The JPEG is truncated or damaged: a marker is missing.")
        marker, start = data[pos + 1], pos
        if marker == 0xD9 or marker in _STANDALONE:
            pos += 2
        else:
            if pos + 4 > len(data):
                raise InputError("corrupt", "The JPEG is truncated: it ends inside a marker.")
            pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            if marker == 0xDA:  # entropy-coded data runs to the next real marker
                found = _NEXT_MARKER.search(data, pos)
                if found is None:
                    raise InputError("corrupt", "The JPEG is truncated: image data ends early.")
                pos = found.start()
        yield Segment(marker, start, pos)
        if marker == 0xD9:
            return


def _jpeg_end(data: bytes, pos: int, budget: list[int]) -> int:
    """Offset just past the EOI of the JPEG starting at ``pos`` (its SOI)."""
    for segment in jpeg_segments(data, pos):
        marker = segment.kind
        if marker == 0xD9:
            return segment.end
        budget[0] += 1
        if marker in _STANDALONE:
            continue
        if marker != 0xDA:
            budget[1] += struct.unpack(">H", data[segment.start + 2 : segment.start + 4])[0]
        if budget[0] > MAX_SEGMENTS or budget[1] > MAX_METADATA_BYTES:
            raise InputError(
                "corrupt",
                f"The JPEG carries more than {MAX_SEGMENTS} segments or "
                f"{MAX_METADATA_BYTES // 2**20} MiB of metadata.",
            )
    raise AssertionError("jpeg_segments ends at EOI or raises")


def check_jpeg(data: bytes) -> None:
    """Walk the markers to EOI: bounded segments and metadata, nothing appended. Further
    complete JPEGs may follow (MPO, e.g. a camera's preview images)."""
    budget = [0, 0]  # segments, metadata bytes
    end = _jpeg_end(data, 0, budget)
    while data.startswith(b"\xff\xd8\xff", end):
        end = _jpeg_end(data, end, budget)
    _trailing(data, end, "JPEG")


def codestream_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) a compressed DICOM frame declares (JPEG, JPEG-LS or JPEG 2000), or None
    when the codestream is not one of those (RLE, whose size is the header's)."""
    try:
        if frame.startswith(b"\xff\xd8"):
            pos = 2
            while pos + 9 <= len(frame):
                if frame[pos] != 0xFF:
                    return None
                marker = frame[pos + 1]
                if marker in _SOF:
                    height, width = struct.unpack(">HH", frame[pos + 5 : pos + 9])
                    return width, height
                pos += 2 + struct.unpack(">H", frame[pos + 2 : pos + 4])[0]
            return None
        start = frame.find(b"\xff\x4f\xff\x51", 0, 4096)  # J2K SOC + SIZ (also inside JP2)
        if start >= 0:
            xsiz, ysiz, x0, y0 = struct.unpack(">IIII", frame[start + 8 : start + 24])
            return xsiz - x0, ysiz - y0
    except struct.error:
        return None
    return None
