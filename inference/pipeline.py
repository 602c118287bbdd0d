"""Predictor: bytes in, mask + overlay + findings out. The one entry point that the CLI, the
worker and the SageMaker-compatible server all call."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from inference import scope as scope_gate
from inference import sides
from inference.decode import decode
from inference.errors import InputError
from inference.image import DEFAULT_LIMITS, DecodedImage, Limits
from inference.overlay import png_bytes, render_overlay
from inference.postprocess import postprocess
from inference.preprocess import to_model_input
from inference.result import PredictionSummary
from inference.session import ModelRunner


@dataclass(frozen=True)
class Prediction(PredictionSummary):
    """The summary plus the two PNGs (both empty when out of scope)."""

    mask_png: bytes = field(kw_only=True)
    overlay_png: bytes = field(kw_only=True)

    def summary(self) -> PredictionSummary:
        """Everything but the PNG bytes: what the CLI prints and the prediction record stores."""
        return PredictionSummary(
            **{f.name: getattr(self, f.name) for f in fields(PredictionSummary)}
        )


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


class Predictor:
    def __init__(
        self,
        model_path: str | Path | None = None,
        device: str = "auto",
        threads: int | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ):
        self.runner = ModelRunner(model_path, device=device, threads=threads)
        self.manifest = self.runner.manifest
        self.limits = limits

    @property
    def model_info(self) -> dict[str, str]:
        m = self.manifest
        return {"name": m.name, "version": m.version, "sha256": m.sha256}

    def predict(self, data: bytes, check_scope: bool = True) -> Prediction:
        """Raises InputError for input that cannot be used, naming the reason. check_scope=False
        (a reviewer's override) analyses a film the scope gate would refuse."""
        result = self.predict_batch([data], check_scope)[0]
        if isinstance(result, InputError):
            raise result
        return result

    def predict_batch(
        self, items: list[bytes], check_scope: bool = True
    ) -> list[Prediction | InputError]:
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
            masks, zones, extra = self.runner.run(np.stack([d[2] for d in decoded]))
            model_ms = _ms(t0) / len(decoded)
            m = self.manifest
            presence = extra.get(m.presence_output) if m.presence_output else None
            scope = extra.get(m.scope_output) if m.scope_output else None
            for k, (i, img, _, timings) in enumerate(decoded):
                timings["model"] = round(model_ms, 2)
                reason = scope_gate.header_reason(img.meta) or scope_gate.distance_reason(
                    None if scope is None else float(np.ravel(scope[k])[0]), m
                )
                if reason is not None and check_scope:
                    results[i] = self._refused(img, reason, timings)
                    continue
                results[i] = self._finish(
                    img,
                    masks[k, 0],
                    zones[k],
                    timings,
                    None if presence is None else float(np.ravel(presence[k])[0]),
                )
        return [r for r in results if r is not None]

    def _refused(self, img: DecodedImage, reason: str, timings: dict[str, float]) -> Prediction:
        """Out of scope: the reason, and no mask, overlay or finding."""
        timings["total"] = round(sum(timings.values()), 2)
        return Prediction(
            width=img.width,
            height=img.height,
            source_format=img.format,
            findings_text=None,
            zone_flags={},
            zone_probabilities={},
            laterality=None,
            lesion_burden_percent=None,
            mask_png=b"",
            overlay_png=b"",
            model=self.model_info,
            timings_ms=timings,
            in_scope=False,
            scope_reason=reason,
        )

    def _finish(
        self,
        img: DecodedImage,
        mask_logits: np.ndarray,
        zone_logits: np.ndarray,
        timings: dict[str, float],
        presence_logit: float | None = None,
    ) -> Prediction:
        t0 = time.perf_counter()
        out = postprocess(
            mask_logits,
            zone_logits,
            img.height,
            img.width,
            self.manifest,
            presence_logit=presence_logit,
            mirrored=sides.is_mirrored(img.meta.get("patient_orientation")),
        )
        mask_png = png_bytes((out.mask * 255).astype(np.uint8))
        overlay_png = png_bytes(render_overlay(img.pixels, out.mask))
        timings["postprocess"] = _ms(t0)
        timings["total"] = round(sum(timings.values()), 2)
        return Prediction(
            width=img.width,
            height=img.height,
            source_format=img.format,
            findings_text=out.findings_text,
            zone_flags=out.zone_flags,
            zone_probabilities=out.zone_probabilities,
            laterality=out.laterality,
            lesion_burden_percent=out.lesion_burden_percent,
            mask_png=mask_png,
            overlay_png=overlay_png,
            model=self.model_info,
            timings_ms=timings,
            lesion_present=out.lesion_present,
            lesion_probability=out.lesion_probability,
        )
