"""Dependency outages: S3 down -> upload 503 and no row; Redis down -> not ready, but uploads
are kept (queued, enqueued=false) for the worker's sweep."""

from __future__ import annotations

from tests.backend.backend_testkit import closed_port_url, png_bytes, upload_files


async def test_s3_down_upload_503_and_no_row(other_stack, clinician, admin) -> None:
    dead = closed_port_url()
    async with other_stack(s3_endpoint_url=dead) as s:
        before = await s.case_count()
        r = await s.client.post("/api/cases", headers=clinician[1], files=upload_files(png_bytes()))
        assert r.status_code == 503, r.text
        assert "s3" in r.json()["detail"] and "unavailable" in r.json()["detail"]
        assert r.headers["retry-after"]
        assert await s.case_count() == before
        ready = await s.client.get("/api/ready", headers=admin[1])  # details: admins only
        assert ready.status_code == 503 and ready.json()["checks"]["s3"] != "ok"


async def test_redis_down(other_stack, clinician, admin) -> None:
    async with other_stack(redis_url=closed_port_url("redis") + "/0") as s:
        ready = await s.client.get("/api/ready", headers=admin[1])  # details: admins only
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["redis"] != "ok" and checks["database"] == "ok" and checks["s3"] == "ok"
        assert "redis" in ready.json()["detail"]

        r = await s.client.post("/api/cases", headers=clinician[1], files=upload_files(png_bytes()))
        assert r.status_code == 202, r.text
        assert r.json()["enqueued"] is False and r.json()["status"] == "queued"
        assert (await s.get_case(r.json()["id"])) is not None

        stats = await s.client.get("/api/admin/stats", headers=admin[1])
        assert stats.status_code == 200 and stats.json()["queue_depth"] is None


async def test_database_down(other_stack, clinician) -> None:
    async with other_stack(database_url="sqlite+aiosqlite:////nonexistent-dir/x.db") as s:
        ready = await s.client.get("/api/ready")  # no admin can be told: status only
        assert ready.status_code == 503 and ready.json() == {"status": "unavailable"}
        me = await s.client.get("/api/me", headers=clinician[1])
        assert me.status_code == 503 and "database" in me.json()["detail"]
