"""ONNX Runtime vs PyTorch eager on the same weights, and the per-stage cost of `predict`.

Run: `.venv/bin/python bench/inference_speed.py` (needs the training extra for torch).
Everything is measured in this one process, interleaved, and reported as ratios: the machines
here are noisy, so absolute milliseconds are indicative only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.model_files import DEFAULT_MODEL  # noqa: E402
from inference.pipeline import Predictor  # noqa: E402


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def engines(threads: int, repeats: int) -> dict[str, float]:
    import onnxruntime as ort
    import torch

    from training.export import to_onnx
    from training.model import SegFindNet

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = SegFindNet().eval()  # the shipped architecture; speed does not depend on values
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        to_onnx(model, path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        for batch in (1, 8):
            x = np.random.default_rng(0).standard_normal((batch, 1, 224, 224), np.float32)
            xt = torch.from_numpy(x)

            def run_torch(xt: torch.Tensor = xt) -> object:
                with torch.inference_mode():
                    return model(xt)

            def run_ort(x: np.ndarray = x) -> object:
                return sess.run(None, {"image": x})

            t_ms, o_ms = median_ms(run_torch, repeats), median_ms(run_ort, repeats)
            out[f"torch_eager_ms_per_image_b{batch}"] = round(t_ms / batch, 2)
            out[f"onnxruntime_ms_per_image_b{batch}"] = round(o_ms / batch, 2)
            out[f"speedup_b{batch}"] = round(t_ms / o_ms, 2)
    return out


def pipeline_stages(images: list[Path], threads: int, repeats: int) -> dict[str, float]:
    predictor = Predictor(DEFAULT_MODEL, device="cpu", threads=threads)
    blobs = [p.read_bytes() for p in images]
    for b in blobs[:3]:
        predictor.predict(b)
    stages: dict[str, list[float]] = {}
    wall = []
    for _ in range(repeats):
        for b in blobs:
            t0 = time.perf_counter()
            res = predictor.predict(b)
            wall.append((time.perf_counter() - t0) * 1000)
            for k, v in res.timings_ms.items():
                stages.setdefault(k, []).append(v)
    out = {f"{k}_ms_median": round(statistics.median(v), 2) for k, v in stages.items()}
    out["wall_ms_median"] = round(statistics.median(wall), 2)
    out["wall_ms_p95"] = round(float(np.percentile(wall, 95)), 2)
    out["images_per_second"] = round(1000 / statistics.mean(wall), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "qata-cov19"))
    args = ap.parse_args()
    images = sorted((Path(args.data) / "images").glob("*.png"))[:20]
    report = {
        "engines": engines(args.threads, args.repeats),
        "pipeline_224": pipeline_stages(images, args.threads, max(1, args.repeats // 10)),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
