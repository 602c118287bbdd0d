"""What the fault tests do again and again: run the API (real HTTP) and a worker, bound a call,
wait, and read back what became of every uploaded case from the stores themselves (SQL,
DynamoDB, S3)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
import uvicorn
from arq import cron
from arq.worker import Worker, create_worker
from boto3.dynamodb.conditions import Key

from backend.app import create_app
from backend.cases.sweep import sweep_stuck
from backend.platform.embedded import free_port
from backend.platform.services import Services
from backend.settings import Settings
from backend.tables import Case
from backend.worker.settings import worker_settings
from tests.slow_worker import slow_worker_settings

#: A request to an API whose dependency is down must be answered within this (the client's
#: timeout); the hang it guards against is indefinite or minutes long: no performance bound.
ANSWER_WITHIN_S = 15.0


class ApiServer:
    """The real API under uvicorn in a thread of its own, so a request that hangs there never
    blocks the test's event loop (where the worker runs)."""

    def __init__(self, settings: Settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="faults-api", daemon=True)

    def start(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "API did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


#: Workers started by running_worker and not yet stopped; wait_until fails as soon as one dies.
_WORKERS: list[asyncio.Task[None]] = []


def _check_workers() -> None:
    for task in _WORKERS:
        if task.done():
            error = None if task.cancelled() else task.exception()
            pytest.fail(f"the worker stopped on its own: {error!r}")


@contextlib.asynccontextmanager
async def running_worker(
    settings: Settings, delay_s: float = 0.0, **overrides: Any
) -> AsyncIterator[Worker]:
    """A real arq worker on this event loop, sweeping every second (production: twice a
    minute), until the block ends; the test fails if the worker stops on its own. delay_s:
    its model answers that late (tests.slow_worker), so jobs are in flight for a while."""
    params: dict[str, Any] = {
        "handle_signals": False,
        "poll_delay": 0.05,
        "cron_jobs": [cron(sweep_stuck, second=set(range(60)))],
    }
    params.update(overrides)
    worker = create_worker(
        slow_worker_settings(settings, delay_s=delay_s, **params)
        if delay_s
        else worker_settings(settings, **params)
    )
    task = asyncio.create_task(worker.main())
    _WORKERS.append(task)
    try:
        yield worker
        _check_workers()
    finally:
        _WORKERS.remove(task)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await worker.close()


async def wait_until(what: str, ok: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await ok():
        _check_workers()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


@dataclass
class Outcome:
    """What became of every case a test uploaded (read from the stores themselves)."""

    statuses: dict[str, str]
    errors: dict[str, str | None]
    attempts: dict[str, int]
    records: dict[str, int]  # DynamoDB prediction records of the case
    objects: dict[str, int]  # S3 objects under the case's prefix

    def check(self) -> None:
        """No case lost, every case done or failed with a reason, no duplicate results."""
        lost = [c for c, s in self.statuses.items() if s == "lost"]
        assert not lost, f"cases accepted by the API but not stored: {lost}"
        for case_id, status in self.statuses.items():
            assert status in ("done", "failed"), f"{case_id} ended {status}"
            if status == "failed":
                assert self.errors[case_id], f"{case_id} failed without a reason"
            else:
                assert self.records[case_id] == 1, f"{case_id}: {self.records[case_id]} records"
                assert self.objects[case_id] == 3, f"{case_id}: {self.objects[case_id]} objects"


class Cases:
    """Talks to the API over HTTP with the client timeout ANSWER_WITHIN_S, remembers every case
    it accepted, and reads their outcomes from SQL, DynamoDB and S3 directly."""

    def __init__(self, client: httpx.AsyncClient, services: Services, moto_url: str):
        self.client, self.services, self.moto_url = client, services, moto_url
        self.ids: list[str] = []

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call; a timeout here means the API hung while a dependency was down."""
        try:
            return await self.client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            pytest.fail(f"{method} {path} got no answer within {ANSWER_WITHIN_S:.0f} s")

    async def upload(self, image: bytes) -> httpx.Response:
        response = await self.request(
            "POST", "/api/cases", files={"file": ("chest.png", image, "image/png")}
        )
        if response.status_code == 202:
            self.ids.append(response.json()["id"])
        return response

    async def _case(self, case_id: str) -> Case | None:
        async with self.services.sessions() as db:
            return await db.get(Case, case_id)

    async def statuses(self) -> dict[str, str]:
        out = {}
        for case_id in self.ids:
            case = await self._case(case_id)
            out[case_id] = case.status if case is not None else "lost"
        return out

    async def all_finished(self) -> bool:
        return all(s in ("done", "failed") for s in (await self.statuses()).values())

    async def any_running(self) -> bool:
        return "running" in (await self.statuses()).values()

    async def outcome(self) -> Outcome:
        settings = self.services.settings
        aws = {"endpoint_url": self.moto_url, "region_name": settings.aws_region}
        table = boto3.resource("dynamodb", **aws).Table(settings.dynamodb_table)
        s3 = boto3.client("s3", **aws)
        out = Outcome({}, {}, {}, {}, {})
        for case_id in self.ids:
            case = await self._case(case_id)
            out.statuses[case_id] = case.status if case is not None else "lost"
            out.errors[case_id] = case.error if case is not None else None
            out.attempts[case_id] = case.attempts if case is not None else 0
            items = table.query(KeyConditionExpression=Key("case_id").eq(case_id))["Items"]
            # every record of the case, whatever its version: one model runs here, so a
            # second record would be a duplicate result
            out.records[case_id] = len(items)
            if case is not None and case.status == "done":
                assert all(i["model_version"] == case.model_version for i in items), items
            listing = s3.list_objects_v2(
                Bucket=settings.s3_bucket, Prefix=self.services.store.key(case_id, "")
            )
            out.objects[case_id] = int(listing.get("KeyCount", 0))
        return out
