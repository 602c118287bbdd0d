"""Predictor: bytes in, mask + overlay + findings out. The one entry point that the CLI, the
worker and the SageMaker-compatible server all call."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inference.decode import DEFAULT_LIMITS, DecodedImage, Limits, decode
from inference.errors import InputError
from inference.overlay import png_bytes, render_overlay
from inference.postprocess import postprocess
from inference.preprocess import to_model_input
from inference.session import ModelRunner


@dataclass
class Prediction:
    width: int
    height: int
    source_format: str
    findings_text: str
    zone_flags: dict[str, bool]
    zone_probabilities: dict[str, float]
    laterality: str
    lesion_burden_percent: float
    mask_png: bytes
    overlay_png: bytes
    model: dict[str, str]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Everything but the PNG bytes: what the CLI prints and the prediction record stores."""
        return {k: v for k, v in self.__dict__.items() if k not in ("mask_png", "overlay_png")}


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


class Predictor:
    def __init__(self, model_path: str | Path | None = None, device: str = "auto",
                 threads: int | None = None, limits: Limits = DEFAULT_LIMITS):
        self.runner = ModelRunner(model_path, device=device, threads=threads)
        self.manifest = self.runner.manifest
        self.limits = limits

    @property
    def model_info(self) -> dict[str, str]:
        m = self.manifest
        return {"name": m.name, "version": m.version, "sha256": m.sha256}

    def predict(self, data: bytes) -> Prediction:
        """Raises InputError for input that cannot be used, naming the reason."""
        result = self.predict_batch([data])[0]
        if isinstance(result, InputError):
            raise result
        return result

    def predict_batch(self, items: list[bytes]) -> list[Prediction | InputError]:
        """Decode each item, run the model once over all decodable ones, post-process each.

        A bad item yields its InputError in its slot; the others still run.
        """
        results: list[Prediction | InputError | None] = [None] * len(items)
        decoded: list[tuple[int, DecodedImage, np.ndarray, dict[str, float]]] = []
        for i, data in enumerate(items):
            t0 = time.perf_counter()
            try:
                img = decode(data, self.limits)
            except InputError as e:
                results[i] = e
                continue
            t1 = time.perf_counter()
            x = to_model_input(img.pixels, self.manifest)
            decoded.append((i, img, x, {"decode": _ms(t0), "preprocess": _ms(t1)}))
        if decoded:
            t0 = time.perf_counter()
            masks, zones = self.runner.run(np.stack([d[2] for d in decoded]))
            model_ms = _ms(t0) / len(decoded)
            for k, (i, img, _, timings) in enumerate(decoded):
                timings["model"] = round(model_ms, 2)
                results[i] = self._finish(img, masks[k, 0], zones[k], timings)
        return [r for r in results if r is not None]

    def _finish(self, img: DecodedImage, mask_logits: np.ndarray, zone_logits: np.ndarray,
                timings: dict[str, float]) -> Prediction:
        t0 = time.perf_counter()
        out = postprocess(mask_logits, zone_logits, img.height, img.width, self.manifest)
        mask_png = png_bytes((out.mask * 255).astype(np.uint8))
        overlay_png = png_bytes(render_overlay(img.pixels, out.mask))
        timings["postprocess"] = _ms(t0)
        timings["total"] = round(sum(timings.values()), 2)
        f = out.findings
        return Prediction(
            width=img.width, height=img.height, source_format=img.format,
            findings_text=f.sentence(),
            zone_flags=dict(zip(self.manifest.zone_order, f.zones, strict=True)),
            zone_probabilities=out.zone_probabilities, laterality=f.laterality,
            lesion_burden_percent=out.lesion_burden_percent, mask_png=mask_png,
            overlay_png=overlay_png, model=self.model_info, timings_ms=timings,
        )
