"""Micro-batching in the worker's local backend: throughput of N queued cases when concurrent
jobs' images share one model call, against one model call per case.

Run: ``PYTHONPATH=. .venv/bin/python bench/micro_batching.py [-n 96] [--concurrency 8]
[--max-batch 8] [--wait-ms 5] [--rounds 3] [--model FILE]``

N real QaTa-COV19 X-rays are handed to ``LocalBackend.predict`` with at most ``--concurrency`` in
flight (the worker's ``max_jobs``), in the worker's CPU arrangement (one single-threaded ONNX
Runtime inference per core, ``factory.local_threads``). Rounds alternate one-at-a-time
(``max_batch=1``) and batched on the same loaded model, so both see the same machine; it prints
the median images/second of each, their ratio, the mean batch size and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.inference_backends.factory import local_threads  # noqa: E402
from backend.inference_backends.local import LocalBackend  # noqa: E402
from inference.errors import InputError  # noqa: E402
from inference.pipeline import Prediction, Predictor  # noqa: E402

IMAGES = ROOT.parent / "shared" / "data" / "qata-cov19" / "images"


class CountingPredictor(Predictor):
    """Records the size of every model call, to report the batches the batcher formed."""

    sizes: list[int]

    def predict_batch(self, items: list[bytes]) -> list[Prediction | InputError]:
        self.sizes.append(len(items))
        return super().predict_batch(items)


async def run_queue(backend: LocalBackend, images: list[bytes], concurrency: int) -> float:
    """Images/second for every image through ``backend``, ``concurrency`` jobs at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def job(data: bytes) -> None:
        async with gate:
            await backend.predict(data)

    t0 = time.perf_counter()
    await asyncio.gather(*(job(d) for d in images))
    return len(images) / (time.perf_counter() - t0)


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    images = [p.read_bytes() for p in sorted(IMAGES.glob("*.png"))[: args.n]]
    pool, ort_threads = local_threads()
    loop = asyncio.get_running_loop()
    predictor = await loop.run_in_executor(
        None, lambda: CountingPredictor(args.model, device="cpu", threads=ort_threads)
    )
    predictor.sizes = []
    single = LocalBackend(predictor, pool, max_batch=1)
    batched = LocalBackend(predictor, pool, max_batch=args.max_batch, wait_ms=args.wait_ms)
    load_start = os.getloadavg()
    await run_queue(single, images[: 2 * pool], concurrency=pool)  # warm-up
    rates: dict[str, list[float]] = {"one_at_a_time": [], "batched": []}
    batch_sizes: list[int] = []
    for _ in range(args.rounds):
        rates["one_at_a_time"].append(await run_queue(single, images, args.concurrency))
        predictor.sizes = []
        rates["batched"].append(await run_queue(batched, images, args.concurrency))
        batch_sizes += predictor.sizes
    await single.close()
    await batched.close()
    one, many = (statistics.median(rates[k]) for k in ("one_at_a_time", "batched"))
    return {
        "images": len(images),
        "concurrency": args.concurrency,
        "pool_threads": pool,
        "ort_threads": ort_threads,
        "max_batch": args.max_batch,
        "wait_ms": args.wait_ms,
        "model": predictor.model_info["version"],
        "one_at_a_time_img_s": round(one, 1),
        "batched_img_s": round(many, 1),
        "ratio_batched": round(many / one, 3),
        "rounds": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
        "mean_batch": round(statistics.mean(batch_sizes), 2),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-n", type=int, default=96, help="queued cases per round")
    ap.add_argument("--concurrency", type=int, default=8, help="jobs in flight (max_jobs)")
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--wait-ms", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default=None, help="ONNX file (default: the shipped model)")
    print(json.dumps(asyncio.run(main_async(ap.parse_args())), indent=2))


if __name__ == "__main__":
    main()
