"""INT8 quantisation of the shipped model with ONNX Runtime, scored and timed against FP32.

Run: ``PYTHONPATH=. .venv/bin/python bench/quantize_int8.py [--calibration 256] [--out var/int8]``

For each variant -- static QDQ (per-channel int8 weights, uint8 activations) calibrated on
train-split images through the real decode + preprocess, with MinMax and Percentile ranges; and
dynamic (weights only, activations quantised per call) -- it writes ``OUT/<variant>.onnx`` with a
manifest (the FP32 manifest with the file's own sha256, version ``<fp32>-int8``), scores it on the
whole split with ``training.evaluate.evaluate`` (the code path of ``medsegtext evaluate``), and
times the model call against FP32 in this process, interleaved, at batch 1 and 8, with 1 intra-op
thread (what each worker inference uses on CPU) and 2. It prints one JSON report: Dice change
and speed ratio per variant, and which one (if any) passes the adoption rule:
|Dice change| <= 0.005 and faster than FP32 at every batch and thread count measured.
``--adopt`` then copies the best passing variant to ``models/medsegtext-segfind-int8.onnx``
(run only when named; for a v2 model, check its re-measured presence and scope blocks first).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from onnxruntime.quantization import (  # noqa: E402
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process  # noqa: E402

from inference.decode import decode  # noqa: E402
from inference.manifest import Manifest, manifest_path_for, sha256_of  # noqa: E402
from inference.model_files import FP32_MODEL, MODELS_DIR  # noqa: E402
from inference.preprocess import to_model_input  # noqa: E402
from inference.session import ModelRunner  # noqa: E402
from training.data import read_records  # noqa: E402
from training.evaluate import evaluate  # noqa: E402

DICE_TOLERANCE = 0.005
# Only the convolutions, where the time goes: the heads and the scope gate's quadratic form are
# small matrix products whose outputs are thresholded, and 8-bit activations would move them.
QUANTISED_OPS = ["Conv", "ConvTranspose"]
DATA = ROOT.parent / "shared" / "data" / "qata-cov19"
NEGATIVES = ROOT.parent / "shared" / "data" / "cxr-negatives"
# Where --adopt puts the winner. The inference core runs it only when named (MEDSEGTEXT_MODEL or
# --model): for v2 its presence/scope blocks say whether it is fit to (see adopt()).
INT8_MODEL = MODELS_DIR / "medsegtext-segfind-int8.onnx"


class TrainImages(CalibrationDataReader):
    """Batches of train-split images through the serving decode + preprocess (evenly spaced
    over the split, so every source in it is represented)."""

    def __init__(self, data: Path, count: int, manifest: Manifest, batch: int = 8):
        records = read_records(data, None, split="train")
        picks = np.linspace(0, len(records) - 1, count).astype(int)
        self.paths = [records[i].image for i in picks]
        self.manifest, self.batch = manifest, batch
        self._it: Iterator[dict[str, np.ndarray]] | None = None

    def _batches(self) -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, len(self.paths), self.batch):
            xs = [
                to_model_input(decode(p.read_bytes()).pixels, self.manifest)
                for p in self.paths[start : start + self.batch]
            ]
            yield {self.manifest.input_name: np.stack(xs)}

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._it is None:
            self._it = self._batches()
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = None


def quantise(
    variant: str, src: Path, dst: Path, data: Path, count: int, manifest: Manifest
) -> None:
    """Write the INT8 model `variant` of the pre-processed FP32 model `src` to `dst`."""
    if variant == "dynamic":
        quantize_dynamic(src, dst, per_channel=True, weight_type=QuantType.QInt8)
        return
    method = {
        "static-minmax": CalibrationMethod.MinMax,
        "static-percentile": CalibrationMethod.Percentile,
    }[variant]
    quantize_static(
        src,
        dst,
        TrainImages(data, count, manifest),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=method,
        op_types_to_quantize=QUANTISED_OPS,
        extra_options={"CalibPercentile": 99.999, "CalibMovingAverage": True},
    )


def write_manifest(fp32: Manifest, onnx: Path, variant: str, calibration: int) -> Manifest:
    """The FP32 manifest (same input size, normalisation, thresholds, zones) for the INT8 file."""
    training = {
        **fp32.training,
        "quantisation": {
            "tool": "onnxruntime.quantization",
            "variant": variant,
            "from_version": fp32.version,
            "from_sha256": fp32.sha256,
            "calibration_images": 0 if variant == "dynamic" else calibration,
            "calibration_split": "train",
        },
    }
    m = replace(
        fp32,
        version=f"{fp32.version}-int8",
        onnx_file=onnx.name,
        sha256=sha256_of(onnx),
        training=training,
        metrics={},
        presence={},
        scope={},
    )
    m.save(manifest_path_for(onnx))
    return m


def timings(paths: dict[str, Path], threads: int, repeats: int) -> dict[str, dict[str, float]]:
    """Median ms per model call for each model, interleaved call by call, batch 1 and 8."""
    runners = {name: ModelRunner(p, device="cpu", threads=threads) for name, p in paths.items()}
    rng = np.random.default_rng(0)
    out: dict[str, dict[str, float]] = {name: {} for name in paths}
    for batch in (1, 8):
        x = rng.standard_normal((batch, 1, 224, 224), dtype=np.float32)
        times: dict[str, list[float]] = {name: [] for name in paths}
        for r in range(repeats + 3):
            for name, runner in runners.items():
                t0 = time.perf_counter()
                runner.run(x)
                if r >= 3:  # warm-up
                    times[name].append((time.perf_counter() - t0) * 1000)
        for name in paths:
            out[name][f"b{batch}_ms"] = round(statistics.median(times[name]), 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "int8")
    ap.add_argument("--calibration", type=int, default=256, help="train images to calibrate on")
    ap.add_argument("--variants", default="static-minmax,static-percentile,dynamic")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--limit", type=int, default=None, help="score on the first N valid images")
    ap.add_argument("--adopt", action="store_true", help="copy the winner into models/")
    args = ap.parse_args()
    fp32 = Manifest.load(manifest_path_for(FP32_MODEL))
    args.out.mkdir(parents=True, exist_ok=True)
    prepared = args.out / "fp32-prepared.onnx"
    quant_pre_process(str(FP32_MODEL), str(prepared))  # shape inference + graph fusions

    paths = {"fp32": FP32_MODEL}
    for variant in args.variants.split(","):
        dst = args.out / f"{fp32.name}-int8-{variant}.onnx"
        quantise(variant, prepared, dst, args.data, args.calibration, fp32)
        write_manifest(fp32, dst, variant, args.calibration)
        paths[variant] = dst

    report: dict[str, Any] = {"load_average_start": os.getloadavg()}
    scores = {name: evaluate(args.data, "valid", p, args.limit) for name, p in paths.items()}
    speed = {t: timings(paths, t, args.repeats) for t in (1, 2)}
    base = scores["fp32"]
    candidates = []
    for name, p in paths.items():
        s = scores[name]
        row: dict[str, Any] = {
            "file_mb": round(p.stat().st_size / 2**20, 2),
            "dice_accumulated": s["dice_accumulated"],
            "dice_change": round(s["dice_accumulated"] - base["dice_accumulated"], 4),
            "zone_macro_f1_change": round(s["zone_macro_f1"] - base["zone_macro_f1"], 4),
            "exact_sentence_change": round(
                s["exact_sentence_match"] - base["exact_sentence_match"], 4
            ),
        }
        ratios = []
        for t, by_model in speed.items():
            for key, ms in by_model[name].items():
                row[f"t{t}_{key}"] = ms
                ratio = by_model["fp32"][key] / ms
                row[f"t{t}_{key[:2]}_speedup"] = round(ratio, 2)
                ratios.append(ratio)
        row["passes"] = (
            name != "fp32" and abs(row["dice_change"]) <= DICE_TOLERANCE and min(ratios) > 1.0
        )
        if row["passes"]:
            candidates.append((statistics.geometric_mean(ratios), name))
        report[name] = row
    report["scores"] = scores
    report["load_average_end"] = os.getloadavg()
    report["adopt"] = max(candidates)[1] if candidates else None
    print(json.dumps(report, indent=2))
    if args.adopt and report["adopt"]:
        adopt(paths[report["adopt"]], scores[report["adopt"]])


def adopt(src: Path, valid: dict[str, Any]) -> None:
    """Copy `src` to models/ with its manifest, valid metrics included. A v2 file gets its own
    presence calibration and scope measurement, made on its own outputs: read them before running
    it (v2.0.0's INT8 copy refused 3.6% of chest films, so it is not shipped)."""
    dst = INT8_MODEL
    shutil.copyfile(src, dst)
    m = Manifest.load(manifest_path_for(src))
    replace(m, onnx_file=dst.name, metrics={"valid": valid}).save(manifest_path_for(dst))
    if Manifest.load(manifest_path_for(FP32_MODEL)).presence_output:
        from training.export import merge_manifest
        from training.presence_eval import evaluate_onnx

        merge_manifest(manifest_path_for(dst), evaluate_onnx(dst, DATA, NEGATIVES))
    print(f"adopted: {dst}")


if __name__ == "__main__":
    main()
