"""The model manifest: the one source of truth for input size, normalisation, thresholds and
zone order, written by training export and read by the inference core."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inference.findings import ZONE_ORDER

# The image's left half holds the data set's "left" zones; row bands (fractions of the height,
# overlapping: lung zones have no sharp border) hold upper, middle, lower. Chosen on QaTa train
# films: bands 0-0.35-0.6-1 hold lesion pixels of the true mask in 95.3% of the annotated zones
# (image thirds: 88.8%); widening each by 0.1 keeps the shipped model's zone macro-F1 within
# 0.003 of its zone head alone (no margin: 0.022 lower) on 1,200 train films.
DEFAULT_ZONE_LAYOUT: dict[str, Any] = {
    "column_split": 0.5,
    "rows": {"upper": [0.0, 0.45], "middle": [0.25, 0.70], "lower": [0.50, 1.0]},
}


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    onnx_file: str
    sha256: str
    input_size: int = 224
    mean: float = 0.5
    std: float = 0.25
    mask_threshold: float = 0.5
    zone_threshold: float = 0.5
    zone_order: tuple[str, ...] = ZONE_ORDER
    input_name: str = "image"
    mask_output: str = "mask_logits"
    zone_output: str = "zone_logits"
    parameters: int = 0
    flops_per_image: int = 0
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # Where each zone lies on the image, as fractions of width and height: a zone is flagged only
    # where the mask has lesion pixels inside it. Image-side, like zone_order.
    zone_layout: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ZONE_LAYOUT))
    # v2 only: the image-level decision (output, temperature, threshold) and the scope gate
    # (output, threshold); absent (empty) for v1 models, which have two outputs.
    presence: dict[str, Any] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)
    # What the model was (`trained_on`) and was not (`not_trained_on`) trained on, in words for
    # the portal's intended-use notice (backend.models_registry.intended_use); empty: unknown,
    # and the API says only what `training` names.
    intended_use: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        data = json.loads(Path(path).read_text())
        data["zone_order"] = tuple(data.get("zone_order", ZONE_ORDER))
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @property
    def presence_output(self) -> str | None:
        return str(self.presence["output"]) if self.presence.get("output") else None

    @property
    def scope_output(self) -> str | None:
        return str(self.scope["output"]) if self.scope.get("output") else None

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_path_for(onnx_path: str | Path) -> Path:
    """`models/x.onnx` is described by `models/x.manifest.json`."""
    p = Path(onnx_path)
    return p.with_name(p.stem + ".manifest.json")
