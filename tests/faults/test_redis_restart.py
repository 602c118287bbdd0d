"""Redis restarted mid-flow, losing every queued job (no persistence, as ElastiCache runs by
default): cases uploaded before, during and after the restart all end done, once each. The
worker rides out the restart; the sweep re-enqueues what Redis lost or never received."""

from __future__ import annotations

import asyncio

import redis

from backend.settings import Settings
from tests.faults.faultkit import RedisServer
from tests.faults.helpers import Cases, running_worker, wait_until


async def test_cases_before_during_after_restart_all_done_once(
    settings: Settings, cases: Cases, image: bytes, redis_server: RedisServer
) -> None:
    # One job at a time, a second each: most of the first cases are still queued in Redis.
    async with running_worker(settings, delay_s=1, max_jobs=1):
        before = [(await cases.upload(image)).json() for _ in range(4)]
        assert all(c["enqueued"] for c in before)

        await wait_until("the first job to start", cases.any_running, 30)
        with redis.Redis.from_url(redis_server.url) as r:
            assert r.zcard("arq:queue") > 0
            r.set("before-restart", 1)
        await asyncio.to_thread(redis_server.kill)
        during = [await cases.upload(image) for _ in range(2)]
        await asyncio.sleep(1)  # the worker polls a dead Redis meanwhile
        await asyncio.to_thread(redis_server.start)
        with redis.Redis.from_url(redis_server.url) as r:
            # Everything queued before is gone (the queue itself may already hold what the
            # worker's sweep re-enqueued since).
            assert r.get("before-restart") is None
        after = [await cases.upload(image) for _ in range(2)]

        # Redis down: the upload is kept (202, queued) for the sweep, never refused or lost.
        assert [r.status_code for r in during] == [202, 202]
        assert [r.json()["enqueued"] for r in during] == [False, False]
        # Redis back: the API's first command finds a new connection at once.
        assert [r.json()["enqueued"] for r in after] == [True, True]

        await wait_until("every case to finish", cases.all_finished, 120)
    outcome = await cases.outcome()
    outcome.check()
    assert set(outcome.statuses.values()) == {"done"}, outcome.errors
