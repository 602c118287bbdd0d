"""Turn uploaded bytes (PNG, JPEG or DICOM) into one display-ready grayscale image.

Everything after this step sees a 2-D float32 array in [0, 1], so format quirks (16-bit PNG,
palettes, alpha, EXIF rotation, DICOM windowing and MONOCHROME1) are settled here, once. Untrusted
uploads are refused with an :class:`~inference.errors.InputError` *before* pixels are allocated:
byte size first, then the size the header declares, then decoding.

Pillow plugins are constructed directly rather than through ``Image.open`` so that our own limits,
not Pillow's process-global ``MAX_IMAGE_PIXELS``, decide what is too big, with no global state
touched (decoding runs in worker threads).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO

import numpy as np
from PIL import Image, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin

from inference.containers import check_jpeg, check_png
from inference.errors import InputError
from inference.image import DEFAULT_LIMITS, DecodedImage, Limits, check_dimensions, luminance

__all__ = ["decode", "sniff_format"]


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8\xff"
# Other things people upload by mistake, named so the refusal says what was seen.
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
)


def sniff_format(data: bytes) -> str:
    """Return "png", "jpeg" or "dicom" from the magic bytes; refuse anything else by name."""
    if not data:
        raise InputError("empty", "The file is empty (0 bytes).")
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data.startswith(_JPEG_SOI):
        return "jpeg"
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "dicom"
    raise InputError(
        "unsupported_format",
        f"The file is {_describe(data)}, not a PNG, JPEG or DICOM file.",
    )


def _describe(data: bytes) -> str:
    """Name what an unsupported file looks like, for the refusal message."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    for magic, name in _KNOWN_OTHERS:
        if data.startswith(magic):
            return name
    if data[:2] in (b"\x02\x00", b"\x08\x00"):
        # Group 0002/0008 tags first: a raw DICOM data set without the Part 10 header.
        return "a DICOM data set without the 128-byte preamble and 'DICM' prefix"
    head = data[:512]
    if all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "text"
    return "unrecognised binary data"


def _human_bytes(n: int) -> str:
    if n >= 2**20:
        return f"{n / 2**20:.1f} MiB"
    if n >= 2**10:
        return f"{n / 2**10:.1f} KiB"
    return f"{n} bytes"


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS) -> DecodedImage:
    """Decode an upload into a display-ready grayscale image, or raise InputError saying why."""
    if len(data) > limits.max_bytes:
        raise InputError(
            "too_large",
            f"The file is {_human_bytes(len(data))}; the limit is "
            f"{_human_bytes(limits.max_bytes)}.",
        )
    fmt = sniff_format(data)
    if fmt == "dicom":
        # Imported on use, not for a cycle: pydicom adds ~0.5 s to start-up (python -X
        # importtime) that PNG and JPEG never need.
        from inference.dicom import decode_dicom

        return decode_dicom(data, limits)
    return _decode_raster(data, fmt, limits)


_OPENERS: dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.jpeg_factory,  # also yields MPO; its first frame is the primary image
}


def _decode_raster(data: bytes, fmt: str, limits: Limits) -> DecodedImage:
    """PNG and JPEG through Pillow: header, size check, then pixels."""
    label = fmt.upper()
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Pillow would pad a cut-off upload with grey; for a radiograph that is a wrong image.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is enabled; refusing to decode")
    if fmt == "png":  # the walk comes first: Pillow would parse every text chunk on open
        check_png(data, limits.max_pixels)
    try:
        im = _OPENERS[fmt](io.BytesIO(data))
    except MemoryError:
        raise
    except Exception as exc:  # Pillow raises SyntaxError, OSError, struct.error... for bad headers
        raise InputError("corrupt", f"The {label} header cannot be read: {exc}.") from exc
    width, height = im.size
    check_dimensions(width, height, limits)
    if fmt == "jpeg":
        check_jpeg(data)
    frames = int(getattr(im, "n_frames", 1))
    if fmt == "png" and frames > 1:
        raise InputError(
            "multi_frame", f"The PNG is animated ({frames} frames); upload a single still image."
        )
    meta = {"mode": im.mode}
    bits = int(data[24]) if fmt == "png" else int(getattr(im, "bits", 8))
    try:
        im.load()
        upright: Image.Image = im
        if fmt == "jpeg":
            orientation = im.getexif().get(0x0112)
            if orientation not in (None, 1):
                meta["exif_orientation"] = str(orientation)
                upright = ImageOps.exif_transpose(im)
        pixels = _gray(upright, label)
    except InputError:
        raise
    except MemoryError:
        raise
    except Exception as exc:
        if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
            msg = f"The {label} is truncated: image data ends early."
        else:
            msg = f"The {label} image data cannot be decoded: {exc}."
        raise InputError("corrupt", msg) from exc
    h, w = pixels.shape
    return DecodedImage(pixels=pixels, format=fmt, width=w, height=h, bits=bits, meta=meta)


def _gray(im: Image.Image, label: str) -> np.ndarray:
    """Pillow image of any PNG/JPEG mode -> float32 [0, 1]; alpha is dropped, not composited.

    Dropping alpha keeps the stored grey value; compositing would darken semi-transparent pixels
    for no clinical reason.
    """
    mode = im.mode
    if mode == "1":
        return np.asarray(im, dtype=np.float32)
    if mode in ("L", "LA", "La"):
        arr = np.asarray(im)
        arr = arr if arr.ndim == 2 else arr[..., 0]
        return arr.astype(np.float32) / np.float32(255.0)
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.float32) / np.float32(65535.0)
    if mode in ("RGB", "RGBA", "RGBa", "RGBX"):
        return luminance(np.asarray(im), 255.0)
    if mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
        return luminance(np.asarray(im.convert("RGB")), 255.0)
    raise InputError("unsupported_format", f"{label} pixel mode {mode!r} is not supported.")
