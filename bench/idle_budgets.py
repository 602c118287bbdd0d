"""DESIGN.md's idle-stack budgets: upload-to-done latency and the memory of each process.

Run: ``PYTHONPATH=. .venv/bin/python bench/idle_budgets.py [-n 20] [--queue 200] [--sign-ins 20]``.
It starts the embedded stack as ``make up`` does (two API processes, one worker, no portal),
then:
0. signs the demo clinician in S times at once, as a shift starting (argon2 holds 64 MiB per
   verification);
1. uploads N real X-rays one at a time, each after the previous case is done, and reports
   upload-to-done latency (client clock at the start of the POST to the moment the API first
   reports the case done, polled every 20 ms; budget p50 <= 2 s);
2. uploads a queue of Q more at once and waits for them, so the worker and the API have handled
   a burst;
3. reports each process's resident memory now and its peak (VmHWM) over the whole run
   (budgets: worker <= 600 MB, each API process <= 300 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.stack import DEMO, IMAGES, stack_processes, start_stack, stop_stack
from bench.upload_throughput import system_run

POLL_S = 0.02
BUDGET_MB = {"worker": 600, "api": 300}


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, in MB (10^6 bytes, as DESIGN.md's budget)."""
    fields = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    kib = {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM")}
    return kib["VmRSS"] * 1024 / 1e6, kib["VmHWM"] * 1024 / 1e6


async def one_at_a_time(client: httpx.AsyncClient, files: list[Path]) -> list[float]:
    """Seconds from the start of each POST until GET /api/cases/{id} says done."""
    latencies = []
    for path in files:
        t0 = time.perf_counter()
        r = await client.post(
            "/api/cases", files={"file": (path.name, path.read_bytes(), "image/png")}
        )
        r.raise_for_status()
        case_id = r.json()["id"]
        while True:
            status = (await client.get(f"/api/cases/{case_id}")).json()["status"]
            if status == "done":
                break
            if status == "failed":
                raise SystemExit(f"case {case_id} ({path.name}) failed")
            await asyncio.sleep(POLL_S)
        latencies.append(time.perf_counter() - t0)
    return latencies


async def sign_ins(api: str, count: int) -> str:
    """`count` simultaneous sign-ins; returns one of the tokens."""
    email, password = DEMO["clinician"]
    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=api, timeout=120) as client:
        answers = await asyncio.gather(
            *(
                client.post("/api/auth/login", json={"email": email, "password": password})
                for _ in range(count)
            )
        )
    for r in answers:
        r.raise_for_status()
    print(f"{count} simultaneous sign-ins answered in {time.perf_counter() - t0:.2f} s")
    return str(answers[0].json()["token"])


async def run(
    api: str,
    sign_in_count: int,
    sequential: list[Path],
    queue: list[Path],
) -> list[float]:
    token = await sign_ins(api, sign_in_count)
    async with httpx.AsyncClient(
        base_url=api, timeout=120, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        await one_at_a_time(client, sequential[:1])  # warm-up: first job loads the clients
        latencies = await one_at_a_time(client, sequential[1:])
    await system_run(api, token, queue, concurrency=8)  # the burst, waited until all are done
    return latencies


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=20, help="uploads one at a time")
    p.add_argument("--queue", type=int, default=200, help="uploads at once afterwards")
    p.add_argument("--sign-ins", type=int, default=20, help="simultaneous sign-ins first")
    args = p.parse_args()
    files = sorted(IMAGES.glob("*.png"))[: args.n + 1 + args.queue]
    if len(files) < args.n + 1 + args.queue:
        raise SystemExit(f"need {args.n + 1 + args.queue} images in {IMAGES}")
    with tempfile.TemporaryDirectory(prefix="medsegtext-bench-") as tmp:
        stack, api = start_stack(Path(tmp))
        try:
            procs = stack_processes(stack.pid)
            at_start = {name: memory_mb(pid) for name, pid in procs.items()}
            lat = asyncio.run(run(api, args.sign_ins, files[: args.n + 1], files[args.n + 1 :]))
            after = {name: memory_mb(pid) for name, pid in procs.items()}
        finally:
            stop_stack(stack)
    lat.sort()
    p50, p95 = statistics.median(lat), lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    print(
        f"upload -> done, one at a time on the idle stack ({len(lat)} cases after a warm-up): "
        f"p50 {p50:.2f} s, p95 {p95:.2f} s, max {lat[-1]:.2f} s; budget p50 <= 2 s: "
        f"{'met' if p50 <= 2 else 'NOT met'}"
    )
    print(
        f"memory (MB): resident at start (peak so far) / after {args.sign_ins} sign-ins and "
        f"{len(lat) + 1} + {args.queue} uploads / peak over the run:"
    )
    for name, pid in procs.items():
        budget = BUDGET_MB.get("api" if name.startswith("api-") and name[4:].isdigit() else name)
        verdict = (
            ""
            if budget is None
            else (f"  budget {budget}: {'met' if after[name][1] <= budget else 'NOT met'}")
        )
        print(
            f"  {name:20s} pid {pid:<7d} {at_start[name][0]:4.0f} ({at_start[name][1]:3.0f}) / "
            f"{after[name][0]:4.0f} / "
            f"{after[name][1]:6.0f}{verdict}"
        )


if __name__ == "__main__":
    main()
