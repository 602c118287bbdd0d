"""The whole flow through the API with the real model and a real arq worker: log in, upload a
real chest X-ray, wait until done, read findings, mask, overlay and preview, review it."""

from __future__ import annotations

import io

import numpy as np
from arq.worker import create_worker
from PIL import Image

from backend.worker.settings import worker_settings
from inference.sides import PATIENT_ZONES, laterality, parse_patient
from tests.backend.backend_testkit import Stack


async def run_worker_until_idle(stack: Stack) -> None:
    worker = create_worker(
        worker_settings(
            stack.settings, cron_jobs=[], burst=True, poll_delay=0.05, handle_signals=False
        )
    )
    try:
        await worker.main()
    finally:
        await worker.close()


async def test_upload_to_reviewed_with_the_real_model(
    stack: Stack, clinician, reviewer, shared_data
) -> None:
    _, headers = clinician
    _, reviewer_headers = reviewer
    stack.redis().delete("arq:queue")  # jobs other tests enqueued and never meant to run
    image = (shared_data / "qata-cov19" / "images" / "covid_1.png").read_bytes()
    r = await stack.client.post(
        "/api/cases",
        headers=headers,
        files={"file": ("covid_1.png", image, "image/png")},
        data={"priority": "urgent", "patient_ref": "FLOW-1"},
    )
    assert r.status_code == 202, r.text
    case_id = r.json()["id"]
    assert r.json()["status"] == "queued"

    await run_worker_until_idle(stack)

    r = await stack.client.get(f"/api/cases/{case_id}", headers=headers)
    case = r.json()
    assert case["status"] == "done", case
    assert parse_patient(case["findings_text"]) == case["zone_flags"]
    assert list(case["zone_probabilities"]) == list(PATIENT_ZONES)
    assert case["model_name"] == "medsegtext-segfind"
    assert case["laterality"] == laterality(case["zone_flags"])
    assert case["laterality"] in ("left", "right", "bilateral")
    assert set(case["timings_ms"]) >= {"decode", "model", "postprocess"}

    mask = await stack.client.get(f"/api/cases/{case_id}/mask", headers=headers)
    overlay = await stack.client.get(f"/api/cases/{case_id}/overlay", headers=headers)
    preview = await stack.client.get(f"/api/cases/{case_id}/preview", headers=headers)
    for resp in (mask, overlay, preview):
        assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    pred = np.asarray(Image.open(io.BytesIO(mask.content))) > 0
    true = np.asarray(Image.open(shared_data / "qata-cov19" / "masks" / "mask_covid_1.png")) > 0
    assert 2 * (pred & true).sum() / (pred.sum() + true.sum()) > 0.5  # it found the lesions
    assert case["lesion_burden_percent"] == round(100 * pred.mean(), 3)
    assert Image.open(io.BytesIO(overlay.content)).size == (224, 224)
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(preview.content))),
        np.asarray(Image.open(io.BytesIO(image))),
    )

    r = await stack.client.post(
        f"/api/cases/{case_id}/review",
        headers=reviewer_headers,
        json={
            "decision": "edit",
            "comment": "upper zones clear",
            "findings_text": "bilateral pulmonary infection, two "
            "infected areas, lower left lung and lower right lung.",
        },
    )
    assert r.status_code == 201, r.text
    case = (await stack.client.get(f"/api/cases/{case_id}", headers=headers)).json()
    assert case["review_state"] == "edited"
    assert [rv["decision"] for rv in case["reviews"]] == ["edit"]
    listed = (await stack.client.get("/api/cases", headers=headers, params={"q": "FLOW-1"})).json()
    assert listed["items"][0]["reviewer_name"] == "Test reviewer"
