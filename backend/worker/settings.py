"""arq worker settings: ``arq backend.worker.settings.WorkerSettings``.

The jobs are the domains': each module in JOB_DOMAINS lists its JOBS and CRON_JOBS, the way the
app collects the domains' controllers (backend.app.DOMAINS); adding a domain's jobs edits this
one place. arq reads only a settings class's *own* attributes (a subclass looks empty to it), so
the class is built whole by :func:`worker_settings` from typed Settings -- lazily, on first
access of ``WorkerSettings``, so importing this module reads no environment and creates no
client.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from types import ModuleType
from typing import Any

from backend.adapters.queue import redis_settings
from backend.cases import jobs as case_jobs
from backend.inference_backends.factory import make_backend
from backend.models_registry.runtime import close_models
from backend.pacs_outbox import jobs as pacs_jobs
from backend.platform.services import Services
from backend.settings import Settings, get_settings

log = logging.getLogger("medsegtext.worker")
KEEP_RESULT_S = 24 * 3600  # as long as arq keeps a queued job: a duplicate id is refused meanwhile

# The one registration point: a domain module with JOBS and CRON_JOBS lists is added here.
JOB_DOMAINS: tuple[ModuleType, ...] = (case_jobs, pacs_jobs)


async def startup(ctx: dict[str, Any]) -> None:
    """Build the process's clients and load the model once, before the first job."""
    settings: Settings = ctx["settings"]
    ctx["services"] = await Services.start(settings)
    ctx["backend"] = await make_backend(settings, pool_threads=ctx.get("pool_threads"))
    log.info(
        "worker ready: backend=%s model=%s",
        settings.inference_backend,
        ctx["backend"].model_version,
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    await close_models(ctx)
    backend = ctx.pop("backend", None)
    if backend is not None:
        await backend.close()
    services = ctx.pop("services", None)
    if services is not None:
        await services.close()


def worker_settings(
    settings: Settings | None = None,
    *,
    retry_base_s: float | None = None,
    retry_cap_s: float | None = None,
    pool_threads: int | None = None,
    **overrides: Any,
) -> type:
    """A fresh WorkerSettings class for ``settings`` (default: the environment's).

    ``retry_base_s`` / ``retry_cap_s`` override the settings' job retry backoff (tests make it
    short); ``overrides`` are further arq Worker arguments (tests pass ``burst``,
    ``poll_delay``, ``cron_jobs``...).
    """
    s = settings or get_settings()
    retry_base_s = s.job_retry_base_seconds if retry_base_s is None else retry_base_s
    retry_cap_s = s.job_retry_cap_seconds if retry_cap_s is None else retry_cap_s
    attrs: dict[str, Any] = {
        "functions": [job for domain in JOB_DOMAINS for job in domain.JOBS],
        "cron_jobs": [job for domain in JOB_DOMAINS for job in domain.CRON_JOBS],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(s, outage_s=s.worker_redis_outage_seconds),
        "max_tries": s.job_max_tries,
        "job_timeout": s.job_timeout_seconds,
        "keep_result": KEEP_RESULT_S,
        # Jobs overlap their S3/DynamoDB/SQL waits with the model running in the thread pool.
        "max_jobs": 8,
        "poll_delay": 0.2,
        "health_check_interval": 30,
        "ctx": {
            "settings": s,
            "retry_base_s": retry_base_s,
            "retry_cap_s": retry_cap_s,
            "pool_threads": pool_threads,
        },
    }
    attrs.update(overrides)
    return type("WorkerSettings", (), attrs)


@lru_cache(maxsize=1)
def _default_worker_settings() -> type:
    return worker_settings()


def __getattr__(name: str) -> Any:
    """``WorkerSettings`` is built on first access (what the arq CLI does), not at import."""
    if name == "WorkerSettings":
        return _default_worker_settings()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
