"""The scope gate: refuse what is not a frontal chest radiograph, with a reason a person reads.

Two checks: the DICOM header (modality, body part, view), and, where the manifest has a `scope`
block (v2 models), the distance of the encoder's features from the training films'.
"""

from __future__ import annotations

from collections.abc import Mapping

from inference.manifest import Manifest

RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR"})
CHEST_BODY_PARTS = frozenset({"CHEST", "THORAX", "LUNG", "LUNGS"})
LATERAL_VIEWS = frozenset({"LL", "RL", "LATERAL", "LAT"})


def header_reason(meta: Mapping[str, str]) -> str | None:
    """Why a DICOM header says the film is out of scope, or None (also for PNG/JPEG)."""
    modality = meta.get("modality", "").strip().upper()
    if modality and modality not in RADIOGRAPH_MODALITIES:
        return (
            f"Modality {modality} is not a radiograph (CR, DX or DR); only frontal chest "
            "radiographs are analysed."
        )
    body = meta.get("body_part", "").strip().upper()
    if body and body not in CHEST_BODY_PARTS:
        return f"Body part examined is {body}, not the chest."
    view = meta.get("view_position", "").strip().upper()
    if view in LATERAL_VIEWS:
        return f"View position {view} is a lateral view; only frontal (PA/AP) films are analysed."
    return None


def distance_reason(distance: float | None, manifest: Manifest) -> str | None:
    """Why the image looks unlike the training films (v2 scope block), or None."""
    if distance is None or not manifest.scope or "threshold" not in manifest.scope:
        return None
    threshold = float(manifest.scope["threshold"])
    if distance > threshold:
        return (
            f"The image does not look like a frontal chest radiograph (scope score "
            f"{distance:.2f} > {threshold:.2f}: its features are unlike the training films')."
        )
    return None
