"""Periodic repair of cases whose job was lost, so no upload waits forever.

A case can be committed while its enqueue fails (Redis down just then), and a job can end
without finishing its case (it timed out, or its last try crashed). arq itself re-runs a job
whose worker was killed (after job_timeout + 10 s), so a case whose job is still in Redis is left
alone; only cases with no job are re-enqueued under the same job id (enqueue is idempotent by id).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from sqlalchemy import and_, or_
from sqlmodel import col, select

from backend.adapters.queue import INFERENCE_JOB, inference_job_id
from backend.cases.enums import CaseStatus
from backend.platform.db import transaction, utcnow
from backend.platform.services import Services
from backend.tables import Case  # every table, so foreign keys resolve in the worker

log = logging.getLogger("medsegtext.worker.sweep")

#: Beyond the job timeout, before a running case counts as stuck.
RUNNING_GRACE_S = 30
BATCH = 200


async def sweep_stuck(ctx: dict[str, Any]) -> dict[str, int]:
    """arq cron job: re-enqueue stuck cases, or fail those that have used all their tries."""
    services: Services = ctx["services"]
    pool: ArqRedis = ctx["redis"]
    settings = services.settings
    now = utcnow()
    # Between the upload's commit and its enqueue; a queued case younger than this is not stuck.
    queued_before = now - timedelta(seconds=settings.sweep_queued_grace_seconds)
    running_before = now - timedelta(seconds=settings.job_timeout_seconds + RUNNING_GRACE_S)
    counts = {"requeued": 0, "failed": 0, "in_redis": 0}
    async with transaction(services.sessions) as session:
        stmt = (
            select(Case)
            .where(
                or_(
                    and_(
                        col(Case.status) == CaseStatus.QUEUED, col(Case.created_at) < queued_before
                    ),
                    and_(
                        col(Case.status) == CaseStatus.RUNNING,
                        col(Case.started_at) < running_before,
                    ),
                )
            )
            .order_by(col(Case.created_at))
            .limit(BATCH)
        )
        for case in (await session.exec(stmt)).all():
            # The id the API enqueued under: the version it stamped on the case at upload.
            job_id = inference_job_id(case.id, case.model_version or services.manifest.version)
            if await pool.exists(job_key_prefix + job_id):
                counts["in_redis"] += 1  # queued, deferred for a retry, or arq will re-run it
                continue
            if case.attempts >= settings.job_max_tries:
                now = utcnow()
                case.status = CaseStatus.FAILED
                case.error = f"the job did not finish after {case.attempts} tries"
                case.finished_at = case.updated_at = now
                counts["failed"] += 1
                continue
            # A finished try's kept result would make arq refuse the same id: drop it first.
            await pool.delete(result_key_prefix + job_id)
            await pool.enqueue_job(INFERENCE_JOB, case.id, _job_id=job_id)
            counts["requeued"] += 1
    if counts["requeued"] or counts["failed"]:
        log.warning("sweep: %s", counts)
    return counts
