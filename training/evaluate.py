"""`medsegtext evaluate`: the shipped pipeline (decode -> ONNX -> post-process) scored on a split.

Runs through the inference core, not torch, so the numbers are those of what is served.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from inference.errors import InputError
from inference.findings import ZONE_ORDER, render
from inference.pipeline import Predictor
from inference.sides import to_image
from training.data import read_records
from training.metrics import MetricAccumulator

BATCH = 16


def evaluate(
    data: str | Path,
    split: str = "valid",
    model_path: str | Path | None = None,
    limit: int | None = None,
    csv: str | None = None,
) -> dict[str, Any]:
    records = read_records(data, csv, split=split)[:limit]
    if not records:
        raise ValueError(f"{data}: no images in split {split!r}")
    predictor = Predictor(model_path)
    acc = MetricAccumulator()
    for start in tqdm(
        range(0, len(records), BATCH), desc=f"evaluate {split}", mininterval=5, leave=False
    ):
        batch = records[start : start + BATCH]
        results = predictor.predict_batch([r.image.read_bytes() for r in batch])
        for rec, res in zip(batch, results, strict=True):
            if isinstance(res, InputError):
                raise ValueError(f"{rec.image}: {res}")
            true = np.asarray(Image.open(rec.mask).convert("L")) > 0
            # a refused film (out of scope) counts as nothing outlined
            pred = (
                np.asarray(Image.open(io.BytesIO(res.mask_png))) > 0
                if res.in_scope
                else np.zeros_like(true)
            )
            acc.add_masks(pred, true)
            # The data set names image sides: read the patient-side flags back on its terms
            # (its films are standard display) and render its sentence template.
            image_flags = to_image(res.zone_flags)
            zones = [image_flags.get(z, False) for z in ZONE_ORDER]
            acc.add_findings(zones, rec.zones, render(zones), rec.description)
    return {
        "split": split,
        "model": predictor.model_info,
        **{k: round(v, 4) for k, v in acc.result().items()},
    }
