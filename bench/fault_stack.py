"""The fault bench's stack (bench/faults.py): the product's processes with every dependency
behind something that can be broken (S3 + DynamoDB and PostgreSQL behind a TCP proxy, a
redis-server of its own, a worker that can be killed), the faults as (inject, heal) pairs, and
the outcomes read from the stores themselves rather than through the API under test."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import boto3
from boto3.dynamodb.conditions import Key
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.devstack_accounts import prepare
from backend.devstack_processes import (
    Child,
    children,
    forget_worker_health,
    stop_children,
    wait_ready,
)
from backend.platform.db import make_engine, make_sessionmaker
from backend.platform.embedded import free_port, start_moto
from backend.platform.migrate import upgrade
from backend.settings import Settings
from backend.tables import Case
from bench.stack import ROOT
from tests.backend.backend_testkit import fresh_postgres
from tests.faults.faultkit import RedisServer, TcpProxy
from tests.slow_worker import DELAY_ENV

JOB_TIMEOUT_S = 30


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
