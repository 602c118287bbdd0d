"""The cases domain's jobs, which the worker collects (JOBS, CRON_JOBS; backend.worker.settings).

The inference job: one case in, mask + overlay in S3, a prediction record in DynamoDB and the
case row updated. arq runs a job at least once, so it is idempotent per (case id, model version):
results go to deterministic keys and a re-run overwrites them, leaving exactly one result.
The model is the registry's active version (backend.models_registry.runtime); shadow versions
run after the shown result is saved, and their results go to S3 and DynamoDB under their own
version only. The sweep (backend.cases.sweep) repairs cases whose job was lost."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import Any

from arq import Retry, cron, func

from backend.adapters.errors import ObjectMissing
from backend.adapters.predictions import PredictionRecord
from backend.adapters.queue import INFERENCE_JOB
from backend.cases.enums import CaseStatus
from backend.cases.sweep import sweep_stuck
from backend.inference_backends.base import InferenceBackend, InferenceResult
from backend.models_registry.runtime import JobModels, job_models
from backend.pacs_outbox.queue import queue_preliminary
from backend.platform.db import transaction, utcnow
from backend.platform.retry import DEFAULT_BASE_S, DEFAULT_CAP_S, DEPENDENCY_ERRORS, backoff_seconds
from backend.platform.retry import describe as describe_error
from backend.platform.services import Services
from backend.tables import Case  # every table, so foreign keys resolve in the worker
from inference.errors import InputError

log = logging.getLogger("medsegtext.worker")
ERROR_MAX = 500  # Case.error column width
SWEEP_SECONDS = {0, 30}


def result_keys(services: Services, case_id: str, version: str) -> tuple[str, str]:
    """Where a case's mask and overlay for one model version live (the same on every re-run)."""
    return (
        services.store.key(case_id, f"{version}/mask.png"),
        services.store.key(case_id, f"{version}/overlay.png"),
    )


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


async def run_inference(ctx: dict[str, Any], case_id: str) -> str:
    """arq job ``run_inference(case_id)``; returns a short outcome kept as the job's result."""
    services: Services = ctx["services"]
    job_try = int(ctx.get("job_try", 1))
    max_tries = services.settings.job_max_tries
    try:
        models = await job_models(ctx, services)
        return await _infer(ctx, services, models, case_id)
    except InputError as e:
        log.info("case %s: input refused: %s", case_id, e.message)
        await mark_failed(services, case_id, e.message)
        return f"failed: {e.message}"
    except ObjectMissing as e:  # retrying cannot bring a deleted upload back
        reason = "the uploaded image is missing from storage"
        log.error("case %s: %s (%s)", case_id, reason, e.key)
        await mark_failed(services, case_id, reason)
        return f"failed: {reason}"
    except DEPENDENCY_ERRORS as e:
        dependency, detail = describe_error(e)
        if job_try < max_tries:
            delay = backoff_seconds(
                job_try,
                ctx.get("retry_base_s", DEFAULT_BASE_S),
                ctx.get("retry_cap_s", DEFAULT_CAP_S),
            )
            log.warning(
                "case %s try %d/%d: %s unavailable (%s); retry in %.1f s",
                case_id,
                job_try,
                max_tries,
                dependency,
                detail,
                delay,
            )
            raise Retry(defer=delay) from e
        reason = f"{dependency} unavailable after {job_try} tries: {detail}"
        log.error("case %s: %s", case_id, reason)
        await mark_failed(services, case_id, reason)
        return f"failed: {reason}"


async def _infer(ctx: dict[str, Any], services: Services, models: JobModels, case_id: str) -> str:
    backend = models.main
    t_job = time.perf_counter()
    async with transaction(services.sessions) as session:
        case = await session.get(Case, case_id)
        if case is None:
            log.warning("case %s no longer exists; nothing to do", case_id)
            return "missing"
        if (
            case.status in (CaseStatus.DONE, CaseStatus.OUT_OF_SCOPE)
            and case.model_version == backend.model_version
        ):
            return "already done"
        now = utcnow()
        case.status, case.started_at, case.updated_at = CaseStatus.RUNNING, now, now
        case.attempts += 1
        case.error = None
        image_key = case.image_key
        check_scope = case.scope_override_reason is None  # a reviewer said: analyse anyway

    t0 = time.perf_counter()
    image = await services.store.get(image_key)
    fetch_ms = _ms(t0)
    result = await backend.predict(image, check_scope=check_scope)

    version = result.model_version or backend.model_version
    if not result.in_scope:
        return await _finish_out_of_scope(
            services,
            case_id,
            result,
            version,
            image_key,
            {**result.summary.timings_ms, "fetch": fetch_ms, "job": _ms(t_job)},
        )
    mask_key, overlay_key = result_keys(services, case_id, version)
    t0 = time.perf_counter()
    await asyncio.gather(
        services.store.put(mask_key, result.mask_png, "image/png"),
        services.store.put(overlay_key, result.overlay_png, "image/png"),
    )
    timings = {**result.summary.timings_ms, "fetch": fetch_ms, "store": _ms(t0)}
    await services.predictions.put(
        prediction_record(case_id, version, result, mask_key, overlay_key, image_key, timings)
    )
    timings["job"] = _ms(t_job)

    async with transaction(services.sessions) as session:
        case = await session.get(Case, case_id)
        if case is None:
            return "missing"
        _apply_result(case, result, version, mask_key, overlay_key, timings)
        case.model_version_id = models.main_version_id
        # pacs_send_preliminary: the model's result goes to the PACS before review (the
        # sender is kicked once this commits)
        await queue_preliminary(session, services, case)
    for mv, shadow in models.shadows:
        await _run_shadow(services, shadow, mv.version, case_id, image_key, image, check_scope)
    return "done"


async def _finish_out_of_scope(
    services: Services,
    case_id: str,
    result: InferenceResult,
    version: str,
    image_key: str,
    timings: dict[str, float],
) -> str:
    """The scope gate refused the film: the case ends as out_of_scope with the reason, and no
    mask, overlay or finding (a reviewer may override: POST .../scope-override)."""
    reason = result.summary.scope_reason or "not a frontal chest radiograph"
    await services.predictions.put(
        prediction_record(case_id, version, result, "", "", image_key, timings)
    )
    async with transaction(services.sessions) as session:
        case = await session.get(Case, case_id)
        if case is None:
            return "missing"
        _apply_result(case, result, version, None, None, timings)
        case.status = CaseStatus.OUT_OF_SCOPE
        case.scope_reason = reason[:ERROR_MAX]
        case.zone_flags = case.zone_probabilities = None  # no finding of any kind
    log.info("case %s: out of scope: %s", case_id, reason)
    return f"out_of_scope: {reason}"


async def _run_shadow(
    services: Services,
    backend: InferenceBackend,
    version: str,
    case_id: str,
    image_key: str,
    image: bytes,
    check_scope: bool = True,
) -> None:
    """Run a shadow version and store its result under its version; never shown, never fails
    the job (the shown result is already saved)."""
    try:
        t0 = time.perf_counter()
        result = await backend.predict(image, check_scope=check_scope)
        mask_key, overlay_key = result_keys(services, case_id, version)
        if result.in_scope:
            await asyncio.gather(
                services.store.put(mask_key, result.mask_png, "image/png"),
                services.store.put(overlay_key, result.overlay_png, "image/png"),
            )
        else:
            mask_key = overlay_key = ""
        timings = {**result.summary.timings_ms, "job": _ms(t0)}
        await services.predictions.put(
            prediction_record(
                case_id, version, result, mask_key, overlay_key, image_key, timings, shadow=True
            )
        )
    except Exception as e:
        log.warning("case %s: shadow model %s failed: %s", case_id, version, e)


def prediction_record(
    case_id: str,
    version: str,
    result: InferenceResult,
    mask_key: str,
    overlay_key: str,
    image_key: str,
    timings: dict[str, float],
    shadow: bool = False,
) -> PredictionRecord:
    """The DynamoDB item, keyed (case_id, model_version): a re-run overwrites, never adds."""
    return PredictionRecord(
        case_id=case_id,
        model_version=version,
        summary=replace(result.summary, timings_ms=timings),
        image_key=image_key,
        mask_key=mask_key,
        overlay_key=overlay_key,
        created_at=utcnow().isoformat(),
        shadow=shadow,
    )


def _apply_result(
    case: Case,
    result: InferenceResult,
    version: str,
    mask_key: str | None,
    overlay_key: str | None,
    timings: dict[str, float],
) -> None:
    s = result.summary
    now = utcnow()
    case.status = CaseStatus.DONE
    case.mask_key, case.overlay_key = mask_key, overlay_key
    case.findings_text = s.findings_text
    case.zone_probabilities = s.zone_probabilities
    case.zone_flags = s.zone_flags
    case.laterality = s.laterality
    case.lesion_burden_percent = s.lesion_burden_percent
    case.lesion_present = s.lesion_present
    case.lesion_probability = s.lesion_probability
    case.scope_reason = None
    case.width, case.height = s.width, s.height
    case.model_name = s.model_name or None
    case.model_version = version
    case.timings_ms = timings
    case.error = None
    case.finished_at = case.updated_at = now


async def mark_failed(services: Services, case_id: str, reason: str) -> None:
    """The case ends as failed with a reason a clinician can read; stored results are kept."""
    async with transaction(services.sessions) as session:
        case = await session.get(Case, case_id)
        if case is None:
            return
        now = utcnow()
        case.status = CaseStatus.FAILED
        case.error = reason if len(reason) <= ERROR_MAX else reason[: ERROR_MAX - 1] + "…"
        case.finished_at = case.updated_at = now


JOBS = [func(run_inference, name=INFERENCE_JOB)]
# No own timeout: arq sizes its in-progress lock (what delays re-running a killed job) by the
# longest function timeout, so the sweep must not exceed job_timeout.
CRON_JOBS = [cron(sweep_stuck, second=SWEEP_SECONDS)]
