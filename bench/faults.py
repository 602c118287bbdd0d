"""Long fault runs: each dependency down for 30 s under a steady stream of uploads and reads.

Run: ``PYTHONPATH=. .venv/bin/python bench/faults.py [--outage 30] [--faults s3,db,redis,worker]``
(embedded SQLite), or with ``--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test``
(a fresh ``<db>_faults_bench`` database on that server, reached through a proxy).

The stack is the product's own processes, started as ``python -m backend.devstack`` starts them
(uvicorn API, one arq worker), with each dependency behind something this script can break:
S3 + DynamoDB (moto) and PostgreSQL behind a TCP proxy (tests/faults/faultkit.py) that resets and
refuses connections while down, and a dedicated redis-server without persistence (a restart
loses every queued job). Faults, one after another on the same stack:

- ``s3``: S3 + DynamoDB refused for --outage seconds;
- ``db``: the database refused for --outage seconds (PostgreSQL only: SQLite has no server);
- ``redis``: redis-server SIGKILLed, started again (empty) --outage seconds later;
- ``worker``: the worker SIGKILLed while a job runs, restarted --outage seconds later (what ECS
  would do); arq re-runs the killed job once its lock lapses (job timeout 30 s here + 10 s).

Each job holds its case --job-delay seconds (default 3 s: the workers run tests.slow_worker,
whose model answers that late) so that some jobs are in flight when a fault starts, as on a
busy day.

For each: uploads accepted (202), then whether every one ended done or failed (with reasons),
lost (accepted, then missing or never finished), duplicates (more than one prediction record, or
more S3 objects than upload + mask + overlay), and the API's answers to requests started while
the fault lasted, by status, with the slowest. The client timeout is 30 s ("timeout" = no answer).

This module runs the faults; the stack and its faults are in bench/fault_stack.py, the
traffic in bench/fault_traffic.py and the table in bench/fault_report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.fault_report import Row, table  # noqa: E402
from bench.fault_stack import Bench  # noqa: E402
from bench.fault_traffic import Traffic  # noqa: E402
from bench.stack import DEMO, IMAGES, login  # noqa: E402

CLIENT_TIMEOUT_S = 30.0
LEAD_S, TAIL_S = 5.0, 5.0  # traffic before the fault and after it heals


async def run_fault(
    bench: Bench,
    api: str,
    token: str,
    name: str,
    inject: Callable[[], object],
    heal: Callable[[], object],
) -> Row:
    images = [p.read_bytes() for p in sorted(IMAGES.glob("*.png"))[:20]]
    async with httpx.AsyncClient(
        base_url=api,
        headers={"Authorization": f"Bearer {token}"},
        timeout=CLIENT_TIMEOUT_S,
        limits=httpx.Limits(max_connections=64),
    ) as client:
        traffic = Traffic(client, images)
        runner = asyncio.create_task(traffic.run())
        await asyncio.sleep(LEAD_S)
        t_down = time.monotonic()
        await asyncio.to_thread(inject)
        await asyncio.sleep(bench.args.outage)
        await asyncio.to_thread(heal)
        t_up = time.monotonic()
        print(f"  {name}: down {t_up - t_down:.1f} s", flush=True)
        await asyncio.sleep(TAIL_S)
        traffic.stop.set()
        await runner
    t0 = time.monotonic()
    ids = list(traffic.accepted)
    while True:
        cases = await bench.statuses(ids)
        unfinished = [
            i for i, c in cases.items() if c is None or c.status not in ("done", "failed")
        ]
        if not unfinished or time.monotonic() - t0 > bench.args.settle:
            break
        await asyncio.sleep(1)
    during = [s for s in traffic.samples if t_down <= s.started < t_up]
    return Row(
        name,
        len(ids),
        collections.Counter(c.status if c else "missing" for c in cases.values()),
        collections.Counter(
            (c.error or "")[:90] for c in cases.values() if c and c.status == "failed"
        ),
        retried=sum(1 for c in cases.values() if c and c.attempts > 1),
        lost=len(unfinished),
        duplicates=bench.duplicates(ids),
        during=collections.Counter(f"{s.kind} {s.status}" for s in during),
        max_s=max((s.seconds for s in during), default=0.0),
        waited_s=time.monotonic() - t0,
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--outage", type=float, default=30.0, help="seconds each fault lasts")
    p.add_argument("--faults", default="s3,db,redis,worker")
    p.add_argument("--database-url", default=None, help="a PostgreSQL server (default SQLite)")
    p.add_argument(
        "--job-delay",
        type=float,
        default=3.0,
        help="seconds each job holds its case (jobs in flight when a fault starts)",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=240.0,
        help="seconds to wait for every case to finish after a fault",
    )
    args = p.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request log
    with tempfile.TemporaryDirectory(prefix="medsegtext-faults-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            api = bench.start()
            token = login(api, *DEMO["clinician"])
            faults = bench.faults()
            rows = []
            for name in args.faults.split(","):
                if name not in faults:
                    why = "SQLite has no database server" if name == "db" else "unknown fault"
                    print(f"  {name}: skipped ({why})")
                    continue
                rows.append(asyncio.run(run_fault(bench, api, token, name, *faults[name])))
        finally:
            bench.stop()
    print(
        f"\n{'PostgreSQL' if args.database_url else 'SQLite'} + redis-server + moto; "
        f"{args.outage:.0f} s outages; jobs held {args.job_delay:g} s; "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
