"""The periodic sweep re-enqueues cases whose job was lost and leaves live jobs alone."""

from __future__ import annotations

from datetime import timedelta

from backend.adapters.queue import inference_job_id
from backend.cases.sweep import RUNNING_GRACE_S, sweep_stuck
from backend.platform.db import transaction, utcnow
from backend.platform.services import Services
from backend.tables import Case


async def _age(
    services: Services, case_id: str, *, status: str, seconds: float, attempts: int = 0
) -> None:
    async with transaction(services.sessions) as session:
        case = await session.get(Case, case_id)
        assert case is not None
        past = utcnow() - timedelta(seconds=seconds)
        case.status, case.created_at, case.attempts = status, past, attempts
        case.started_at = past if status == "running" else None


async def test_sweep_requeues_lost_jobs_and_fails_exhausted_ones(
    kit, services: Services, xray: bytes, new_case
) -> None:
    pool = services.queue.pool
    assert pool is not None
    version = services.manifest.version
    timeout = kit.settings.job_timeout_seconds
    queued_grace = kit.settings.sweep_queued_grace_seconds
    lost_enqueue = await new_case(xray)  # committed, but the enqueue never happened
    await _age(services, lost_enqueue, status="queued", seconds=queued_grace + 5)
    fresh = await new_case(xray)  # just uploaded: the API is about to enqueue it
    stale_running = await new_case(xray)  # its try timed out; arq kept a result, no job
    await _age(
        services, stale_running, status="running", attempts=1, seconds=timeout + RUNNING_GRACE_S + 5
    )
    await pool.set(f"arq:result:{inference_job_id(stale_running, version)}", b"stale")
    exhausted = await new_case(xray)
    await _age(
        services,
        exhausted,
        status="running",
        attempts=kit.settings.job_max_tries,
        seconds=timeout + RUNNING_GRACE_S + 5,
    )
    still_queued = await new_case(xray)  # old, but its job is in Redis: arq will run it
    await _age(services, still_queued, status="queued", seconds=queued_grace + 5)
    await services.queue.enqueue_inference(still_queued, version)

    counts = await sweep_stuck({"services": services, "redis": pool})

    assert counts == {"requeued": 2, "failed": 1, "in_redis": 1}
    assert (await kit.load_case(exhausted)).status == "failed"
    assert "did not finish after 3 tries" in ((await kit.load_case(exhausted)).error or "")
    assert await sweep_stuck({"services": services, "redis": pool}) == {
        "requeued": 0,
        "failed": 0,
        "in_redis": 3,
    }

    await kit.run_burst_worker()
    for case_id in (lost_enqueue, stale_running, still_queued):
        case = await kit.load_case(case_id)
        assert case.status == "done", case.error
        assert len(await services.predictions.for_case(case_id)) == 1
    assert (await kit.load_case(fresh)).status == "queued"  # nobody enqueued it: not our job
