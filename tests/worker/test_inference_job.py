"""The inference job end to end on real services with the shipped model and a real X-ray."""

from __future__ import annotations

from backend.adapters.queue import INFERENCE_JOB, inference_job_id
from backend.cases.jobs import result_keys, run_inference
from backend.platform.db import transaction
from backend.platform.services import Services
from backend.tables import Case
from backend.worker.settings import KEEP_RESULT_S
from inference.sides import PATIENT_ZONES


async def test_job_runs_case_to_done(kit, services: Services, xray: bytes, new_case) -> None:
    case_id = await new_case(xray)
    version = services.manifest.version
    await services.queue.enqueue_inference(case_id, version)

    worker = await kit.run_burst_worker()

    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (1, 0, 0)
    case = await kit.load_case(case_id)
    assert case.status == "done", case.error
    assert case.findings_text and "lung" in case.findings_text
    assert case.model_version == version and case.model_name == "medsegtext-segfind"
    assert (case.width, case.height) == (224, 224)
    assert set(case.zone_probabilities or {}) == set(PATIENT_ZONES)
    assert case.laterality in ("left", "right", "bilateral", "none")
    assert case.attempts == 1 and case.started_at and case.finished_at
    assert {"model", "fetch", "store", "job"} <= set(case.timings_ms or {})
    mask_key, overlay_key = result_keys(services, case_id, version)
    assert (case.mask_key, case.overlay_key) == (mask_key, overlay_key)
    assert (await services.store.get(mask_key)).startswith(b"\x89PNG")
    assert (await services.store.get(overlay_key)).startswith(b"\x89PNG")
    record = await services.predictions.get(case_id, version)
    assert record is not None
    assert record.summary.findings_text == case.findings_text
    assert record.summary.zone_probabilities == case.zone_probabilities
    assert record.summary.model["sha256"] == services.manifest.sha256
    assert record.mask_key == mask_key and "model" in record.summary.timings_ms

    # The kept result makes a duplicate enqueue of the same job id a no-op.
    pool = services.queue.pool
    assert pool is not None
    assert (
        await pool.enqueue_job(INFERENCE_JOB, case_id, _job_id=inference_job_id(case_id, version))
        is None
    )
    assert 0 < await pool.ttl(f"arq:result:{inference_job_id(case_id, version)}") <= KEEP_RESULT_S


async def test_rerun_overwrites_and_leaves_one_result(
    kit, services: Services, local_backend, xray: bytes, new_case
) -> None:
    case_id = await new_case(xray)
    ctx = {"services": services, "backend": local_backend, "job_try": 1}
    assert await run_inference(ctx, case_id) == "done"
    first = await kit.load_case(case_id)
    keys_after_first = await kit.list_keys(case_id)

    # Done for this model version: a second delivery of the job changes nothing.
    assert await run_inference(ctx, case_id) == "already done"
    assert (await kit.load_case(case_id)).attempts == 1

    # At-least-once: the results were written but the final commit was lost, so it runs again.
    async with transaction(services.sessions) as session:
        case = await session.get(Case, case_id)
        assert case is not None
        case.status = "running"
    assert await run_inference(ctx, case_id) == "done"

    second = await kit.load_case(case_id)
    assert second.status == "done" and second.attempts == 2
    assert (second.mask_key, second.overlay_key) == (first.mask_key, first.overlay_key)
    assert second.findings_text == first.findings_text
    assert await kit.list_keys(case_id) == keys_after_first
    assert len(keys_after_first) == 3  # the original, one mask, one overlay
    records = await services.predictions.for_case(case_id)
    assert len(records) == 1 and records[0].model_version == services.manifest.version


async def test_bad_image_fails_with_reason_without_retry(kit, services: Services, new_case) -> None:
    case_id = await new_case(b"%PDF-1.7 this is not a chest X-ray", name="original.png")
    await services.queue.enqueue_inference(case_id, services.manifest.version)

    worker = await kit.run_burst_worker()

    assert worker.jobs_retried == 0
    case = await kit.load_case(case_id)
    assert case.status == "failed" and case.attempts == 1
    assert case.error and "PDF" in case.error
    assert await services.predictions.for_case(case_id) == []


async def test_missing_upload_fails_with_reason_without_retry(
    kit, services: Services, xray: bytes, new_case
) -> None:
    case_id = await new_case(xray)
    await services.store.delete((await kit.load_case(case_id)).image_key)
    await services.queue.enqueue_inference(case_id, services.manifest.version)

    worker = await kit.run_burst_worker()

    assert worker.jobs_retried == 0
    case = await kit.load_case(case_id)
    assert case.status == "failed"
    assert case.error == "the uploaded image is missing from storage"
