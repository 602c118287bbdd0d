"""Which models an inference job runs, from the model registry (backend.models_registry): the
active version, whose result is shown, and the shadow versions, whose results are stored under
their own version (S3 keys, DynamoDB record) and never shown.

A worker process loads each version once and keeps it while it stays active or shadow (a
dropped one is released when its last job ends). With no active version in the registry (a
fresh database) the model the worker started with is used. With the SageMaker backend the
endpoint's model is always used and nothing runs in shadow: a new model is deployed to the
endpoint instead.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from backend.inference_backends.base import InferenceBackend
from backend.models_registry.models import ModelVersion
from backend.models_registry.service import active_version, local_model_path, shadow_versions
from backend.platform.services import Services

log = logging.getLogger("medsegtext.worker")


@dataclass
class JobModels:
    main: InferenceBackend
    main_version_id: int | None  # the registry row of the model whose result is shown
    shadows: list[tuple[ModelVersion, InferenceBackend]] = field(default_factory=list)


async def _load(services: Services, mv: ModelVersion) -> InferenceBackend:
    # on use: ONNX Runtime is loaded by workers that run a local model, not by SageMaker ones
    from backend.inference_backends.factory import local_threads
    from backend.inference_backends.local import LocalBackend

    path = await local_model_path(services, mv)
    pool, ort_threads = local_threads()
    return await LocalBackend.load(
        str(path),
        device="auto",
        ort_threads=ort_threads,
        pool_threads=pool,
        max_batch=services.settings.inference_max_batch,
        wait_ms=services.settings.inference_batch_wait_ms,
    )


async def _backend_for(
    ctx: dict[str, Any], services: Services, mv: ModelVersion
) -> InferenceBackend:
    default: InferenceBackend = ctx["backend"]
    if mv.version == default.model_version:
        return default
    cache: dict[str, InferenceBackend] = ctx.setdefault("model_backends", {})
    if mv.version not in cache:
        log.info("loading model %s %s", mv.name, mv.version)
        cache[mv.version] = await _load(services, mv)
    return cache[mv.version]


async def job_models(ctx: dict[str, Any], services: Services) -> JobModels:
    """The backends for one job. An active version that cannot be loaded here falls back to
    the worker's own model (the case records which version produced its result); a shadow
    version that cannot be loaded is skipped. Both are logged as errors."""
    default: InferenceBackend = ctx["backend"]
    async with services.sessions() as session:
        active = await active_version(session)
        shadows = await shadow_versions(session)
    if active is None or services.settings.inference_backend != "local":
        same = active is not None and active.version == default.model_version
        return JobModels(default, active.id if same and active else None)
    lock: asyncio.Lock = ctx.setdefault("model_lock", asyncio.Lock())
    async with lock:  # concurrent jobs load a new version once
        cache: dict[str, InferenceBackend] = ctx.setdefault("model_backends", {})
        for version in set(cache) - {active.version, *(m.version for m in shadows)}:
            cache.pop(version)  # no longer used; released when its in-flight jobs end
        try:
            models = JobModels(await _backend_for(ctx, services, active), active.id)
        except Exception as e:
            log.error(
                "active model %s cannot be loaded (%s); using %s",
                active.version,
                e,
                default.model_version,
            )
            models = JobModels(default, None)
        for mv in shadows:
            if mv.version == models.main.model_version:
                continue
            try:
                models.shadows.append((mv, await _backend_for(ctx, services, mv)))
            except Exception as e:
                log.error("shadow model %s cannot be loaded: %s", mv.version, e)
    return models


async def close_models(ctx: dict[str, Any]) -> None:
    """Worker shutdown: close every version loaded besides the worker's own model."""
    for backend in ctx.pop("model_backends", {}).values():
        await backend.close()
