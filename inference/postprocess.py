"""Model outputs -> one consistent story: mask at the input's resolution, the image-level
decision, zone flags that follow the mask, burden, laterality and the sentence, all by the
patient's side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from inference import sides
from inference.manifest import Manifest


@dataclass(frozen=True)
class Outcome:
    mask: np.ndarray  # (H, W) bool at the input's resolution; empty when no lesion is present
    lesion_present: bool
    lesion_probability: float | None  # calibrated (v2 presence head); None for v1 models
    zone_probabilities: dict[str, float]  # the zone head's, keyed by the patient's side
    zone_flags: dict[str, bool]  # patient's side; only zones with outlined lesion
    laterality: str
    lesion_burden_percent: float
    findings_text: str


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def mask_at(mask_logits: np.ndarray, height: int, width: int, threshold: float) -> np.ndarray:
    """(S, S) logits -> (H, W) bool; the probability map is resized, then thresholded."""
    prob = _sigmoid(mask_logits.astype(np.float32))
    if prob.shape != (height, width):
        prob = np.asarray(
            Image.fromarray(prob, mode="F").resize((width, height), Image.Resampling.BILINEAR)
        )
    return prob >= threshold


def zone_pixels(mask: np.ndarray, manifest: Manifest) -> dict[str, int]:
    """Lesion pixels inside each zone of the manifest's layout, by image-side zone key."""
    h, w = mask.shape
    layout = manifest.zone_layout
    split = round(float(layout["column_split"]) * w)
    out: dict[str, int] = {}
    for key in manifest.zone_order:
        side, _, level = key.partition("_")
        top, bottom = (round(float(f) * h) for f in layout["rows"][level])
        cols = slice(0, split) if side == "left" else slice(split, w)
        out[key] = int(mask[top:bottom, cols].sum())
    return out


def presence_probability(logit: float, manifest: Manifest) -> float:
    """sigmoid(logit / temperature): the calibrated lesion probability of a v2 manifest."""
    t = float(manifest.presence.get("temperature", 1.0))
    return float(_sigmoid(np.asarray(logit / t, dtype=np.float32)))


def postprocess(
    mask_logits: np.ndarray,
    zone_logits: np.ndarray,
    height: int,
    width: int,
    manifest: Manifest,
    presence_logit: float | None = None,
    mirrored: bool = False,
) -> Outcome:
    """Zone flags are the zone head's flags restricted to zones the mask outlines; when the mask
    outlines lesion but the head flags none of its zones, the zone holding most of it is named.
    lesion_present: v2, calibrated presence >= the manifest's threshold (else the mask is
    emptied); v1, the mask is not empty."""
    mask = mask_at(mask_logits, height, width, manifest.mask_threshold)
    probability: float | None = None
    if presence_logit is not None and manifest.presence:
        probability = presence_probability(presence_logit, manifest)
        present = probability >= float(manifest.presence["threshold"])
        if not present:
            mask = np.zeros_like(mask)
    else:
        present = bool(mask.any())
    probs = _sigmoid(zone_logits.astype(np.float32))
    pixels = zone_pixels(mask, manifest)
    flags = {
        z: bool(p >= manifest.zone_threshold) and pixels[z] > 0
        for z, p in zip(manifest.zone_order, probs, strict=True)
    }
    if mask.any() and not any(flags.values()):
        flags[max(pixels, key=lambda z: pixels[z])] = True
    patient_flags = sides.to_patient(flags, mirrored)
    return Outcome(
        mask=mask,
        lesion_present=present,
        lesion_probability=None if probability is None else round(probability, 4),
        zone_probabilities=sides.to_patient(
            {z: round(float(p), 4) for z, p in zip(manifest.zone_order, probs, strict=True)},
            mirrored,
        ),
        zone_flags=patient_flags,
        laterality=sides.laterality(patient_flags),
        lesion_burden_percent=round(100.0 * float(mask.mean()), 3),
        findings_text=sides.sentence(patient_flags, present),
    )
