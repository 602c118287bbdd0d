"""What a decoded upload is and what one may cost: the types decode.py and dicom.py share.

Kept apart from both so that the DICOM decoder and the PNG/JPEG decoder depend on these, not on
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.errors import InputError

__all__ = ["DEFAULT_LIMITS", "DecodedImage", "Limits", "check_dimensions", "luminance"]


@dataclass(frozen=True)
class Limits:
    """What one upload may cost: file bytes, decoded pixels and the longest side."""

    max_bytes: int = 64 * 2**20
    max_pixels: int = 40_000_000
    max_side: int = 16384


DEFAULT_LIMITS = Limits()


@dataclass
class DecodedImage:
    """A decoded image: ``pixels`` is 2-D float32 in [0, 1], 0 = black, as a reader would see it."""

    pixels: np.ndarray
    format: str  # "png" | "jpeg" | "dicom"
    width: int
    height: int
    bits: int  # stored bit depth per sample
    meta: dict[str, str] = field(default_factory=dict)  # small, never patient data


# ITU-R BT.601 luma, the weights Pillow's convert("L") uses, so RGB uploads match training data.
_LUMA = (0.299, 0.587, 0.114)


def check_dimensions(width: int, height: int, limits: Limits) -> None:
    """Refuse a declared size before any pixel buffer is allocated (decompression bombs)."""
    if width <= 0 or height <= 0:
        raise InputError("corrupt", f"The image header declares an empty size ({width}x{height}).")
    if width * height > limits.max_pixels:
        raise InputError(
            "too_many_pixels",
            f"The image is {width}x{height} pixels; the limit is {limits.max_pixels} pixels.",
        )
    if max(width, height) > limits.max_side:
        raise InputError(
            "too_many_pixels",
            f"The image is {width}x{height} pixels; the longest side allowed is "
            f"{limits.max_side} pixels.",
        )


def luminance(rgb: np.ndarray, full_scale: float) -> np.ndarray:
    """BT.601 luma of an (H, W, >=3) array as float32 in [0, 1]; channels past 3 are ignored."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    out = r * np.float32(_LUMA[0])
    out += g * np.float32(_LUMA[1])
    out += b * np.float32(_LUMA[2])
    out /= np.float32(full_scale)
    return np.clip(out, 0.0, 1.0, out=out)
