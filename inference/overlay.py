"""Overlay PNG: a semi-transparent lesion fill plus its contour over the grayscale image."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

FILL_RGB = np.array([230, 40, 40], dtype=np.float32)
CONTOUR_RGB = np.array([255, 220, 0], dtype=np.uint8)
FILL_ALPHA = 0.35


def contour(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """Mask pixels with a background pixel within `width` (4-neighbourhood erosion)."""
    inner = mask.copy()
    for _ in range(width):
        shrunk = inner.copy()
        shrunk[1:, :] &= inner[:-1, :]
        shrunk[:-1, :] &= inner[1:, :]
        shrunk[:, 1:] &= inner[:, :-1]
        shrunk[:, :-1] &= inner[:, 1:]
        inner = shrunk
    return mask & ~inner


def render_overlay(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W) [0, 1] image and bool mask -> (H, W, 3) uint8 RGB."""
    gray = np.clip(pixels * 255.0, 0, 255).astype(np.float32)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    rgb[mask] = rgb[mask] * (1 - FILL_ALPHA) + FILL_RGB * FILL_ALPHA
    out = rgb.astype(np.uint8)
    out[contour(mask, width=max(1, round(max(mask.shape) / 400)))] = CONTOUR_RGB
    return out


def png_bytes(array: np.ndarray) -> bytes:
    """Fast PNG encoding: level 1 is ~5x quicker than the default and ~10% larger."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
