"""Grayscale [0, 1] pixels at any size -> the normalised square input the manifest describes."""

from __future__ import annotations

import numpy as np
from PIL import Image

from inference.manifest import Manifest


def to_model_input(pixels: np.ndarray, manifest: Manifest) -> np.ndarray:
    """(H, W) float32 in [0, 1] -> (1, S, S) float32 normalised.

    Training images are 8-bit 224x224, so the input is quantised to 8 bits the same way.
    """
    s = manifest.input_size
    img = Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="L")
    if img.size != (s, s):
        img = img.resize((s, s), Image.Resampling.BILINEAR)
    x = np.asarray(img, dtype=np.float32) / 255.0
    return ((x - manifest.mean) / manifest.std)[None]
