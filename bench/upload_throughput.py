"""System throughput under a queue of uploads vs the inference core's raw throughput.

Run: ``.venv/bin/python bench/upload_throughput.py [-n 200] [--concurrency 8] [--api URL]``.
Without --api it starts the embedded stack (``python -m backend.devstack`` in a fresh temp data
dir, free port) and stops it afterwards; with --api it uses a running stack and its demo
clinician (or --email/--password).

It uploads N real QaTa-COV19 X-rays concurrently through the API with the worker running, waits
until every case is done, and prints images/second, p50/p95 upload-to-done latency (client clock
at the start of the POST to the case's finished_at; same machine) and the ratio of that
throughput to the inference core's raw throughput: ``Predictor.predict`` over the same images
in this process, the better of sequential (ORT default threads) and one single-threaded
predict per core, measured before and after the uploads (these machines are noisy).
Budget: ratio >= 0.8.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.stack import (
    IMAGES,
    cpu_seconds,
    login,
    stack_processes,
    start_stack,
    stop_stack,
    wait_finished,
)
from inference.pipeline import Predictor


def raw_sequential(predictor: Predictor, images: list[bytes]) -> float:
    """One predict after another, ONNX Runtime using its default threads."""
    predictor.predict(images[0])  # warm-up
    t0 = time.perf_counter()
    for data in images:
        predictor.predict(data)
    return len(images) / (time.perf_counter() - t0)


def raw_parallel(predictor: Predictor, images: list[bytes], threads: int) -> float:
    """``threads`` predicts at a time on single-threaded sessions (what the worker does)."""
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(predictor.predict, images[:threads]))  # warm-up
        t0 = time.perf_counter()
        list(pool.map(predictor.predict, images))
        return len(images) / (time.perf_counter() - t0)


def raw_rates(images: list[bytes]) -> tuple[float, float]:
    """(sequential, one single-threaded predict per core) images/second."""
    cores = len(os.sched_getaffinity(0))
    return (raw_sequential(Predictor(), images), raw_parallel(Predictor(threads=1), images, cores))


def ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def system_run(api: str, token: str, files: list[Path], concurrency: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(
        base_url=api, headers=headers, timeout=120, limits=limits
    ) as client:
        gate = asyncio.Semaphore(concurrency)
        started: dict[str, float] = {}

        async def upload(path: Path) -> None:
            async with gate:
                t = time.time()
                r = await client.post(
                    "/api/cases", files={"file": (path.name, path.read_bytes(), "image/png")}
                )
                r.raise_for_status()
                started[r.json()["id"]] = t

        await asyncio.gather(*(upload(p) for p in files))
        since = datetime.fromtimestamp(min(started.values()) - 1, UTC).isoformat()
        await wait_finished(client, since, len(started))
        finished = {}
        for case_id in started:  # after the run: costs nothing measured
            body = (await client.get(f"/api/cases/{case_id}")).json()
            finished[case_id] = ts(body["finished_at"])
    lat = sorted(finished[c] - started[c] for c in started)
    span = max(finished.values()) - min(started.values())
    return {
        "images_per_s": len(files) / span,
        "p50_s": statistics.median(lat),
        "p95_s": lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))],
        "span_s": span,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("-n", type=int, default=200, help="images to upload")
    p.add_argument("--concurrency", type=int, default=8, help="uploads in flight")
    p.add_argument("--api", default=None, help="a running stack (default: start one)")
    p.add_argument("--email", default="clinician@example.org")
    p.add_argument("--password", default="clinician-demo-pass")
    args = p.parse_args()
    files = sorted(IMAGES.glob("*.png"))[: args.n]
    if len(files) < args.n:
        raise SystemExit(f"need {args.n} images in {IMAGES}, found {len(files)}")
    images = [f.read_bytes() for f in files]

    stack = None
    cpu: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="medsegtext-bench-") as tmp:
        try:
            if args.api is None:
                stack, api = start_stack(Path(tmp))
            else:
                api = args.api.rstrip("/")
            token = login(api, args.email, args.password)
            seq_before, par_before = raw_rates(images)
            procs = stack_processes(stack.pid) if stack is not None else {}
            cpu0 = {name: cpu_seconds(pid) for name, pid in procs.items()}
            client0 = time.process_time()
            sysr = asyncio.run(system_run(api, token, files, args.concurrency))
            cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in procs.items()}
            cpu["bench client"] = time.process_time() - client0
            seq_after, par_after = raw_rates(images)
        finally:
            if stack is not None:
                stop_stack(stack)
    seq, par = (seq_before + seq_after) / 2, (par_before + par_after) / 2
    raw = max(seq, par)
    print(f"images: {args.n} real X-rays, {args.concurrency} uploads in flight")
    print(
        f"raw Predictor.predict: sequential {seq:.1f} img/s ({seq_before:.1f} before, "
        f"{seq_after:.1f} after); one 1-thread predict per core {par:.1f} img/s "
        f"({par_before:.1f} before, {par_after:.1f} after)"
    )
    print(
        f"system (upload -> done): {sysr['images_per_s']:.1f} img/s over {sysr['span_s']:.1f} s;"
        f" latency p50 {sysr['p50_s']:.2f} s, p95 {sysr['p95_s']:.2f} s"
    )
    if len(cpu) > 1:
        print(
            "CPU ms per image during the run: "
            + ", ".join(f"{name} {1000 * sec / args.n:.0f}" for name, sec in cpu.items())
        )
    ratio = sysr["images_per_s"] / raw
    print(
        f"ratio system/raw: {ratio:.2f} against the faster raw way "
        f"({sysr['images_per_s'] / seq:.2f} against sequential predict); "
        f"budget >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
