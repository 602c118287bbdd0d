"""Model outputs -> mask at the input's resolution, zone probabilities, laterality, burden, text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from inference.findings import Findings
from inference.manifest import Manifest


@dataclass(frozen=True)
class Outcome:
    mask: np.ndarray  # (H, W) bool at the input's resolution
    zone_probabilities: dict[str, float]
    findings: Findings
    lesion_burden_percent: float


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def mask_at(mask_logits: np.ndarray, height: int, width: int, threshold: float) -> np.ndarray:
    """(S, S) logits -> (H, W) bool; the probability map is resized, then thresholded."""
    prob = _sigmoid(mask_logits.astype(np.float32))
    if prob.shape != (height, width):
        prob = np.asarray(Image.fromarray(prob, mode="F").resize(
            (width, height), Image.Resampling.BILINEAR))
    return prob >= threshold


def postprocess(mask_logits: np.ndarray, zone_logits: np.ndarray, height: int, width: int,
                manifest: Manifest) -> Outcome:
    mask = mask_at(mask_logits, height, width, manifest.mask_threshold)
    probs = _sigmoid(zone_logits.astype(np.float32))
    flags = tuple(bool(p >= manifest.zone_threshold) for p in probs)
    return Outcome(
        mask=mask,
        zone_probabilities={z: round(float(p), 4) for z, p in zip(manifest.zone_order, probs,
                                                                  strict=True)},
        findings=Findings(zones=flags),  # type: ignore[arg-type]
        lesion_burden_percent=round(100.0 * float(mask.mean()), 3),
    )
