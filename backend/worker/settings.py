"""arq worker settings: ``arq backend.worker.settings.WorkerSettings``.

arq reads only a settings class's *own* attributes (a subclass looks empty to it), so the class is
built whole by :func:`worker_settings` from typed Settings -- lazily, on first access of
``WorkerSettings``, so importing this module reads no environment and creates no client.

Test hook: ``MEDSEGTEXT_TEST_JOB_DELAY`` (seconds, float) makes each inference job sleep after
fetching its image and before running the model, so a test can kill a worker mid-job. It is read
once at worker startup and refused in production.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

from arq import cron, func

from backend.adapters.queue import INFERENCE_JOB, redis_settings
from backend.inference_backends.factory import make_backend
from backend.pacs_outbox import jobs as pacs_jobs
from backend.platform.services import Services
from backend.settings import Settings, SettingsError, get_settings
from backend.worker.jobs import run_inference
from backend.worker.models import close_models
from backend.worker.sweep import sweep_stuck

log = logging.getLogger("medsegtext.worker")
TEST_DELAY_ENV = "MEDSEGTEXT_TEST_JOB_DELAY"
KEEP_RESULT_S = 24 * 3600  # as long as arq keeps a queued job: a duplicate id is refused meanwhile
SWEEP_SECONDS = {0, 30}


def _test_delay(settings: Settings) -> float:
    raw = os.environ.get(TEST_DELAY_ENV, "").strip()
    if not raw:
        return 0.0
    if settings.is_production:
        raise SettingsError(f"{TEST_DELAY_ENV} is a test hook and is refused in production")
    return float(raw)


async def startup(ctx: dict[str, Any]) -> None:
    """Build the process's clients and load the model once, before the first job."""
    settings: Settings = ctx["settings"]
    ctx["services"] = await Services.start(settings)
    ctx["backend"] = await make_backend(settings, pool_threads=ctx.get("pool_threads"))
    ctx["test_delay_s"] = _test_delay(settings)
    log.info("worker ready: backend=%s model=%s", settings.inference_backend,
             ctx["backend"].model_version)


async def shutdown(ctx: dict[str, Any]) -> None:
    await close_models(ctx)
    backend = ctx.pop("backend", None)
    if backend is not None:
        await backend.close()
    services = ctx.pop("services", None)
    if services is not None:
        await services.close()


def worker_settings(settings: Settings | None = None, *, retry_base_s: float | None = None,
                    retry_cap_s: float | None = None, pool_threads: int | None = None,
                    **overrides: Any) -> type:
    """A fresh WorkerSettings class for ``settings`` (default: the environment's).

    ``retry_base_s`` / ``retry_cap_s`` override the settings' job retry backoff (tests make it
    short); ``overrides`` are further arq Worker arguments (tests pass ``burst``,
    ``poll_delay``, ``cron_jobs``...).
    """
    s = settings or get_settings()
    retry_base_s = s.job_retry_base_seconds if retry_base_s is None else retry_base_s
    retry_cap_s = s.job_retry_cap_seconds if retry_cap_s is None else retry_cap_s
    attrs: dict[str, Any] = {
        "functions": [func(run_inference, name=INFERENCE_JOB), *pacs_jobs.JOBS],
        # No own timeout: arq sizes its in-progress lock (what delays re-running a killed job)
        # by the longest function timeout, so the sweep must not exceed job_timeout.
        "cron_jobs": [cron(sweep_stuck, second=SWEEP_SECONDS), *pacs_jobs.CRON_JOBS],
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
        "ctx": {"settings": s, "retry_base_s": retry_base_s, "retry_cap_s": retry_cap_s,
                "pool_threads": pool_threads},
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
