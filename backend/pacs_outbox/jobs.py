"""The worker's part: a job that sends a case's rows right after the commit that queued them
(backend.pacs_outbox.queue.kick), and a sweep every few seconds that sends whatever is due (a
retry whose wait is over, a row whose kick was lost with Redis). Both claim rows before
sending, so they never send the same row at once. JOBS and CRON_JOBS are what the worker
collects."""

from __future__ import annotations

from typing import Any

from arq import cron, func

from backend.pacs_outbox.deliver import deliver_due
from backend.pacs_outbox.queue import SEND_JOB

SWEEP_EVERY_S = 5


async def send_pacs_results(ctx: dict[str, Any], case_id: str) -> dict[str, int]:
    """arq job: send the case's due rows now."""
    return await deliver_due(ctx["services"], case_id)


async def sweep_outbox(ctx: dict[str, Any]) -> dict[str, int]:
    """arq cron job: send every due row (a batch per run)."""
    return await deliver_due(ctx["services"])


# one try each: a failed send is rescheduled in the outbox (with backoff), not by arq
JOBS = [func(send_pacs_results, name=SEND_JOB, max_tries=1)]
CRON_JOBS = [cron(sweep_outbox, second=set(range(0, 60, SWEEP_EVERY_S)))]
