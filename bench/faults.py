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
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx
from boto3.dynamodb.conditions import Key
from sqlmodel.ext.asyncio.session import AsyncSession

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backend.devstack import (  # noqa: E402
    Child,
    children,
    forget_worker_health,
    prepare,
    stop_children,
    wait_ready,
)
from backend.platform.db import make_engine, make_sessionmaker  # noqa: E402
from backend.platform.embedded import free_port, start_moto  # noqa: E402
from backend.platform.migrate import upgrade  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.tables import Case  # noqa: E402
from bench.stack import DEMO, IMAGES, login  # noqa: E402
from tests.backend.backend_testkit import fresh_postgres  # noqa: E402
from tests.faults.faultkit import RedisServer, TcpProxy  # noqa: E402
from tests.slow_worker import DELAY_ENV  # noqa: E402

CLIENT_TIMEOUT_S = 30.0
JOB_TIMEOUT_S = 30
LEAD_S, TAIL_S = 5.0, 5.0  # traffic before the fault and after it heals
UPLOADS_PER_S, READS_PER_S = 1.0, 4.0


@dataclass
class Sample:
    started: float
    kind: str  # upload | read
    status: str  # HTTP status, or "timeout" / "error"
    seconds: float


@dataclass
class Traffic:
    """Uploads and reads at a steady rate; a slow answer never holds the stream back."""

    client: httpx.AsyncClient
    images: list[bytes]
    samples: list[Sample] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _one(self, kind: str, call: Awaitable[httpx.Response]) -> None:
        t0 = time.monotonic()
        try:
            r = await call
            status = str(r.status_code)
            if kind == "upload" and r.status_code == 202:
                self.accepted.append(r.json()["id"])
        except httpx.TimeoutException:
            status = "timeout"
        except httpx.HTTPError as e:
            status = type(e).__name__
        self.samples.append(Sample(t0, kind, status, time.monotonic() - t0))

    async def run(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        pictures = itertools.cycle(self.images)
        t0, n_up, n_read = time.monotonic(), 0, 0
        while not self.stop.is_set():
            elapsed = time.monotonic() - t0
            if n_up <= elapsed * UPLOADS_PER_S:
                data = next(pictures)
                tasks.add(
                    asyncio.create_task(
                        self._one(
                            "upload",
                            self.client.post(
                                "/api/cases", files={"file": ("chest.png", data, "image/png")}
                            ),
                        )
                    )
                )
                n_up += 1
            if n_read <= elapsed * READS_PER_S:
                path = (
                    f"/api/cases/{self.accepted[-1]}"
                    if self.accepted and n_read % 2
                    else "/api/cases?limit=20"
                )
                tasks.add(asyncio.create_task(self._one("read", self.client.get(path))))
                n_read += 1
            tasks = {t for t in tasks if not t.done()}
            await asyncio.sleep(0.05)
        await asyncio.gather(*tasks)


@dataclass
class Row:
    fault: str
    accepted: int
    statuses: collections.Counter[str]
    reasons: collections.Counter[str]
    retried: int  # cases whose job needed more than one try
    lost: int
    duplicates: int
    during: collections.Counter[str]
    max_s: float
    waited_s: float


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path):
        self.args, self.tmp = args, tmp
        self.moto, self.moto_url = start_moto()
        self.aws = TcpProxy(self.moto_url).start()
        self.redis = RedisServer(tmp / "redis").start()
        if args.database_url:
            self.db_url = asyncio.run(fresh_postgres(args.database_url, "faults_bench"))
            self.db: TcpProxy | None = TcpProxy(self.db_url).start()
        else:
            self.db_url, self.db = f"sqlite+aiosqlite:///{tmp / 'medsegtext.db'}", None
        aws = self.aws.url(self.moto_url)
        self.settings = Settings(
            database_url=self.db.url(self.db_url) if self.db else self.db_url,
            redis_url=self.redis.url,
            s3_endpoint_url=aws,
            dynamodb_endpoint_url=aws,
            job_timeout_seconds=JOB_TIMEOUT_S,
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MEDSEGTEXT_")},
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.settings.database_url,
            "REDIS_URL": self.redis.url,
            "MEDSEGTEXT_S3_ENDPOINT_URL": aws,
            "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL": aws,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "test",
            "MEDSEGTEXT_JOB_TIMEOUT_SECONDS": str(JOB_TIMEOUT_S),
            DELAY_ENV: str(args.job_delay),
        }
        self.procs: list[Child] = []

    def start(self) -> str:
        upgrade(self.db_url)
        asyncio.run(prepare(self.settings))
        port = free_port()
        self.procs = children("127.0.0.1", port, 1, 0)
        for c in self.procs:  # the workers' model answers --job-delay late
            if c.name.startswith("worker"):
                c.argv[-1] = "tests.slow_worker.WorkerSettings"
        forget_worker_health(self.redis.url)
        for c in self.procs:
            c.proc = subprocess.Popen(
                c.argv,
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        api = f"http://127.0.0.1:{port}"
        print(
            f"stack ready in {wait_ready(api, self.redis.url, self.procs, []):.1f} s "
            f"({'PostgreSQL' if self.db else 'SQLite'}, redis-server, moto)",
            flush=True,
        )
        return api

    def stop(self) -> None:
        stop_children(self.procs)
        for stop in (
            self.aws.stop,
            self.redis.stop,
            self.moto.stop,
            self.db.stop if self.db else None,
        ):
            if stop is not None:
                stop()

    # --- faults: (inject, heal) ----------------------------------------------------------
    def worker(self) -> Child:
        return next(c for c in self.procs if c.name.startswith("worker"))

    def kill_worker(self) -> None:
        deadline = time.monotonic() + 15  # mid-job: wait until a job runs
        while time.monotonic() < deadline and not asyncio.run(self._any_running()):
            time.sleep(0.05)
        proc = self.worker().proc
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def restart_worker(self) -> None:
        c = self.worker()
        c.proc = subprocess.Popen(
            c.argv,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def faults(self) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
        out: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
            "s3": (lambda: self.aws.down("refuse"), self.aws.up)
        }
        if self.db is not None:
            db = self.db
            out["db"] = (lambda: db.down("refuse"), db.up)
        out["redis"] = (self.redis.kill, self.redis.start)
        out["worker"] = (self.kill_worker, self.restart_worker)
        return out

    # --- outcomes, read from the stores themselves --------------------------------------
    @asynccontextmanager
    async def _db(self) -> AsyncIterator[AsyncSession]:
        """A session on the database itself, not through the proxy; each caller runs in its own
        asyncio.run, so the engine lives only as long as the session."""
        engine = make_engine(Settings(database_url=self.db_url))
        try:
            async with make_sessionmaker(engine)() as db:
                yield db
        finally:
            await engine.dispose()

    async def _any_running(self) -> bool:
        from sqlmodel import select

        async with self._db() as db:
            found = (await db.exec(select(Case.id).where(Case.status == "running"))).first()
            return found is not None

    async def statuses(self, ids: list[str]) -> dict[str, Case | None]:
        async with self._db() as db:
            return {i: await db.get(Case, i) for i in ids}

    def duplicates(self, ids: list[str]) -> int:
        aws = {"endpoint_url": self.moto_url, "region_name": self.settings.aws_region}
        table = boto3.resource("dynamodb", **aws).Table(self.settings.dynamodb_table)
        s3 = boto3.client("s3", **aws)
        dup = 0
        for case_id in ids:
            records = table.query(KeyConditionExpression=Key("case_id").eq(case_id))["Items"]
            objects = s3.list_objects_v2(
                Bucket=self.settings.s3_bucket, Prefix=f"{self.settings.s3_prefix}{case_id}/"
            )
            dup += len(records) > 1 or int(objects.get("KeyCount", 0)) > 3
        return dup


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


def table(rows: list[Row]) -> str:
    lines = [
        "| fault | accepted | done | failed | retried | lost | duplicates | API during the "
        "outage (requests by answer) | slowest answer | all finished after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        during = ", ".join(f"{k}: {v}" for k, v in sorted(r.during.items()))
        lines.append(
            f"| {r.fault} | {r.accepted} | {r.statuses['done']} | "
            f"{r.statuses['failed']} | {r.retried} | {r.lost} | {r.duplicates} | "
            f"{during} | "
            f"{r.max_s:.2f} s | {r.waited_s:.0f} s |"
        )
    reasons = [f"- {r.fault}: {n} x {reason}" for r in rows for reason, n in r.reasons.items()]
    return "\n".join(lines + (["", "Failure reasons:", *reasons] if reasons else []))


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
