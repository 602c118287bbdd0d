"""Post-process hot spots found with cProfile: the overlay and the two PNG encodings, before and
after, on the same inputs in one process.

Run: ``PYTHONPATH=. .venv/bin/python bench/hot_spots.py [--images 40] [--repeats 7]``

"before" is the code as it was (Pillow's PNG encoder, whole-image float blend), copied here;
"after" is ``inference.overlay``. Inputs: real QaTa-COV19 X-rays at 224x224 with the shipped
model's masks, and the same images upscaled to 2048x2048 (a typical radiograph's size). Each
new output is checked to decode to the same pixels as the old one; sizes are reported too.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.decode import decode  # noqa: E402
from inference.overlay import (  # noqa: E402
    CONTOUR_RGB,
    FILL_ALPHA,
    FILL_RGB,
    contour,
    png_bytes,
    render_overlay,
)
from inference.pipeline import Predictor  # noqa: E402
from inference.postprocess import mask_at  # noqa: E402
from inference.preprocess import to_model_input  # noqa: E402

IMAGES = ROOT.parent / "shared" / "data" / "qata-cov19" / "images"


def before_render_overlay(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    gray = np.clip(pixels * 255.0, 0, 255).astype(np.float32)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    rgb[mask] = rgb[mask] * (1 - FILL_ALPHA) + FILL_RGB * FILL_ALPHA
    out = rgb.astype(np.uint8)
    out[contour(mask, width=max(1, round(max(mask.shape) / 400)))] = CONTOUR_RGB
    return out


def before_png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def before(pixels: np.ndarray, mask: np.ndarray) -> tuple[bytes, bytes]:
    return (
        before_png_bytes((mask * 255).astype(np.uint8)),
        before_png_bytes(before_render_overlay(pixels, mask)),
    )


def after(pixels: np.ndarray, mask: np.ndarray) -> tuple[bytes, bytes]:
    return (png_bytes((mask * 255).astype(np.uint8)), png_bytes(render_overlay(pixels, mask)))


def cases(count: int, side: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(pixels, mask at the input's size) for `count` X-rays, optionally upscaled to `side`."""
    predictor = Predictor(device="cpu")
    out = []
    for path in sorted(IMAGES.glob("*.png"))[:count]:
        data = path.read_bytes()
        if side:
            buf = io.BytesIO()
            Image.open(path).convert("L").resize((side, side), Image.Resampling.BICUBIC).save(
                buf, format="PNG"
            )
            data = buf.getvalue()
        img = decode(data)
        logits, _ = predictor.runner.run(to_model_input(img.pixels, predictor.manifest)[None])
        mask = mask_at(logits[0, 0], img.height, img.width, predictor.manifest.mask_threshold)
        out.append((img.pixels, mask))
    return out


def check(inputs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Decoded pixels equal; sizes of old and new PNGs."""
    sizes = {"before_kib": 0.0, "after_kib": 0.0}
    for pixels, mask in inputs:
        old, new = before(pixels, mask), after(pixels, mask)
        for a, b in zip(old, new, strict=True):
            if not np.array_equal(
                np.asarray(Image.open(io.BytesIO(a))), np.asarray(Image.open(io.BytesIO(b)))
            ):
                raise SystemExit("the new post-process changed the output pixels")
        sizes["before_kib"] += sum(map(len, old)) / 1024 / len(inputs)
        sizes["after_kib"] += sum(map(len, new)) / 1024 / len(inputs)
    return {k: round(v, 1) for k, v in sizes.items()}


def interleaved(
    fns: dict[str, Callable[[np.ndarray, np.ndarray], object]],
    inputs: list[tuple[np.ndarray, np.ndarray]],
    repeats: int,
) -> dict[str, float]:
    """Median ms per image of each function, alternating function by function each repeat."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(repeats + 1):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for pixels, mask in inputs:
                fn(pixels, mask)
            if r:  # the first pass warms up
                times[name].append((time.perf_counter() - t0) * 1000 / len(inputs))
    return {name: round(statistics.median(v), 3) for name, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    report: dict[str, object] = {"load_average_start": os.getloadavg()}
    for label, side, count in (("224x224", None, args.images), ("2048x2048", 2048, 4)):
        inputs = cases(count, side)
        ms = interleaved(
            {
                "before_overlay": before_render_overlay,
                "after_overlay": render_overlay,
                "before_total": before,
                "after_total": after,
            },
            inputs,
            args.repeats if side is None else max(3, args.repeats // 2),
        )
        for when in ("before", "after"):  # the two PNG encodings: total less the overlay
            ms[f"{when}_png_pair"] = round(ms[f"{when}_total"] - ms[f"{when}_overlay"], 3)
        report[label] = {
            **ms,
            **{
                f"{part}_speedup": round(ms[f"before_{part}"] / ms[f"after_{part}"], 2)
                for part in ("overlay", "png_pair", "total")
            },
            **check(inputs),
            "images": len(inputs),
        }
    report["load_average_end"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
