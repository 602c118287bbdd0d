"""Upload to queued: the row, the stored object and the job in Redis's arq queue."""

from __future__ import annotations

from backend.adapters.queue import inference_job_id
from backend.cases.strip_metadata import strip_png
from tests.backend.backend_testkit import Stack, upload_files


async def test_health_and_ready(stack: Stack, admin) -> None:
    assert (await stack.client.get("/api/health")).json()["status"] == "ok"
    r = await stack.client.get("/api/ready", headers=admin[1])  # the checks: admins only
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "redis": "ok", "s3": "ok"}


async def test_upload_is_stored_queued_and_enqueued(stack: Stack, clinician, sample_png) -> None:
    owner_id, headers = clinician
    r = await stack.client.post(
        "/api/cases",
        headers=headers,
        files=upload_files(sample_png, "nih.png", "image/jpeg"),
        data={
            "patient_ref": "MRN-0042",
            "age": "58",
            "sex": "f",
            "priority": "urgent",
            "acquired_at": "2024-03-01T10:30:00",
            "notes": "cough, fever",
        },
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["enqueued"] is True
    assert body["source_format"] == "png"  # by content, not by the client's content type
    assert (body["width"], body["height"]) == (512, 512)
    assert body["sex"] == "F" and body["age"] == 58 and body["priority"] == "urgent"
    assert body["acquired_at"].startswith("2024-03-01T10:30:00")
    assert body["owner_id"] == owner_id
    version = stack.services.manifest.version
    assert body["model_version"] == version

    case = await stack.get_case(body["id"])
    assert case is not None and case.status == "queued"
    stored = stack.get_object(case.image_key)
    assert stored == strip_png(sample_png)  # its tEXt and tIME chunks dropped (issue 12)
    job_id = inference_job_id(case.id, version)
    assert job_id == f"infer:{case.id}:{version}"
    assert stack.redis().zscore("arq:queue", job_id) is not None

    listed = (await stack.client.get("/api/cases", headers=headers)).json()
    assert body["id"] in [c["id"] for c in listed["items"]]
    detail = await stack.client.get(f"/api/cases/{case.id}", headers=headers)
    assert detail.status_code == 200 and detail.json()["reviews"] == []
    image = await stack.client.get(f"/api/cases/{case.id}/image", headers=headers)
    assert image.status_code == 200 and image.content == stored
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"] == "private, no-store"
    mask = await stack.client.get(f"/api/cases/{case.id}/mask", headers=headers)
    assert mask.status_code == 404 and "not available yet" in mask.json()["detail"]


async def test_request_id_and_security_headers(stack: Stack) -> None:
    r = await stack.client.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] != "abc-123"  # always the server's own (issue 12)
    assert len(r.headers["x-request-id"]) == 32
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    generated = await stack.client.get("/api/nope", headers={"X-Request-ID": "bad id!"})
    assert generated.status_code == 404
    assert len(generated.headers["x-request-id"]) == 32


async def test_openapi_schema(stack: Stack) -> None:
    r = await stack.client.get("/api/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in (
        "/api/auth/login",
        "/api/cases",
        "/api/cases/{case_id}",
        "/api/cases/{case_id}/review",
        "/api/admin/stats",
        "/api/ready",
    ):
        assert path in paths
