"""Issue 13 through the API with the real model and a real arq worker: a lateral film finishes
as out_of_scope with the reason, no findings and no report (409); a reviewer's override (with a
reason, audited) re-queues it and it is analysed as in scope."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.backend.backend_testkit import Stack
from tests.backend.test_full_flow import run_worker_until_idle
from tests.inference.test_decode import dicom_bytes, make_dicom


def lateral_dicom(shared_data: Path) -> bytes:
    pixels = np.asarray(
        Image.open(shared_data / "qata-cov19" / "images" / "covid_1.png").convert("L")
    )
    return dicom_bytes(make_dicom(pixels, BodyPartExamined="CHEST", ViewPosition="LL"))


async def test_out_of_scope_case_and_reviewer_override(
    stack: Stack, clinician, reviewer, admin, shared_data: Path
) -> None:
    stack.redis().delete("arq:queue")  # jobs other tests enqueued and never meant to run
    r = await stack.client.post(
        "/api/cases",
        headers=clinician[1],
        files={"file": ("lateral.dcm", lateral_dicom(shared_data), "application/dicom")},
    )
    assert r.status_code == 202, r.text
    case_id = r.json()["id"]
    await run_worker_until_idle(stack)

    case = (await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])).json()
    assert case["status"] == "out_of_scope", case
    assert "lateral" in case["scope_reason"]
    assert case["findings_text"] is None and case["zone_flags"] is None
    assert case["lesion_burden_percent"] is None and not case["has_mask"]
    for path in ("report.pdf", "report.fhir.json"):
        refused = await stack.client.get(f"/api/cases/{case_id}/{path}", headers=clinician[1])
        assert refused.status_code == 409 and "lateral" in refused.json()["detail"]
    listed = (
        await stack.client.get("/api/cases?status=out_of_scope", headers=clinician[1])
    ).json()["items"]
    assert case_id in {c["id"] for c in listed}
    review = await stack.client.post(
        f"/api/cases/{case_id}/review", headers=reviewer[1], json={"decision": "accept"}
    )
    assert review.status_code == 409  # no findings to review

    url = f"/api/cases/{case_id}/scope-override"
    assert (
        await stack.client.post(url, headers=clinician[1], json={"reason": "x"})
    ).status_code == 403
    assert (
        await stack.client.post(url, headers=reviewer[1], json={"reason": ""})
    ).status_code == 400
    r = await stack.client.post(
        url, headers=reviewer[1], json={"reason": "PA film; the header says LL by mistake"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "queued"
    again = await stack.client.post(url, headers=reviewer[1], json={"reason": "twice"})
    assert again.status_code == 409
    await run_worker_until_idle(stack)

    case = (await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])).json()
    assert case["status"] == "done", case
    assert case["scope_reason"] is None and case["findings_text"] and case["has_mask"]
    assert case["scope_override_reason"] == "PA film; the header says LL by mistake"
    assert (
        await stack.client.get(f"/api/cases/{case_id}/report.pdf", headers=clinician[1])
    ).status_code == 200
    events = (
        await stack.client.get("/api/admin/audit?action=case.scope_override", headers=admin[1])
    ).json()["items"]
    assert events[0]["object_id"] == case_id
    assert events[0]["detail"]["reason"] == "PA film; the header says LL by mistake"
    assert "lateral" in events[0]["detail"]["scope_reason"]
