"""A real worker whose model answers late, for the tests (and bench/faults.py) that kill a
worker or take a dependency down while a job is in flight.

The delay sits where a slow model would: after the job fetched its image and marked the case
running, before the model runs. It lives here, with the tests, not in the production job: the
worker's settings are wrapped, not changed.

In-process: ``slow_worker_settings(settings, delay_s=1, ...)``. As a process (the real arq
CLI): ``python -m arq tests.slow_worker.WorkerSettings`` with ``MEDSEGTEXT_TEST_JOB_DELAY``
(seconds) in its environment.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from backend.inference_backends.base import InferenceBackend, InferenceResult
from backend.settings import Settings
from backend.worker.settings import worker_settings

DELAY_ENV = "MEDSEGTEXT_TEST_JOB_DELAY"


class SlowBackend:
    """The worker's model, answering ``delay_s`` late."""

    def __init__(self, inner: InferenceBackend, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s
        self.model_version = inner.model_version

    async def predict(self, image_bytes: bytes, check_scope: bool = True) -> InferenceResult:
        await asyncio.sleep(self.delay_s)
        return await self.inner.predict(image_bytes, check_scope=check_scope)

    async def close(self) -> None:
        await self.inner.close()


def slow_worker_settings(
    settings: Settings | None = None, *, delay_s: float, **kwargs: Any
) -> type:
    """worker_settings(settings, **kwargs), with the worker's model ``delay_s`` late."""
    base = worker_settings(settings, **kwargs)
    startup = base.on_startup  # type: ignore[attr-defined]

    async def slow_startup(ctx: dict[str, Any]) -> None:
        await startup(ctx)
        ctx["backend"] = SlowBackend(ctx["backend"], delay_s)

    attrs = {k: v for k, v in vars(base).items() if not k.startswith("__")}
    return type("WorkerSettings", (), {**attrs, "on_startup": slow_startup})


def __getattr__(name: str) -> Any:
    """``WorkerSettings`` for the arq CLI, built on first access from the environment."""
    if name == "WorkerSettings":
        return slow_worker_settings(delay_s=float(os.environ[DELAY_ENV]))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
