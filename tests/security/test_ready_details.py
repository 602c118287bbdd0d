"""/api/ready tells which dependency is down to admins only.

What the probe found: an anonymous caller learned from /api/ready which store was down and the
exception class it raised. Load balancers only need the status code; the details are for the
admins (and the logs, which always have them).
"""

from __future__ import annotations

from typing import Any

from tests.backend.backend_testkit import Stack, closed_port_url


async def test_ready_anonymous_gets_status_only(stack: Stack) -> None:
    r = await stack.client.get("/api/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ready"}


async def test_ready_details_for_admins(stack: Stack, admin: Any) -> None:
    r = await stack.client.get("/api/ready", headers=admin[1])
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "redis": "ok", "s3": "ok"}


async def test_dependency_down_anonymous_and_non_admins_learn_nothing_more(
    other_stack: Any, clinician: Any, reviewer: Any, admin: Any
) -> None:
    async with other_stack(redis_url=closed_port_url("redis") + "/0") as s:
        for headers in ({}, clinician[1], reviewer[1], {"Authorization": "Bearer bogus"}):
            r = await s.client.get("/api/ready", headers=headers)
            assert r.status_code == 503
            assert r.json() == {"status": "unavailable"}
            assert "redis" not in r.text.lower()
        r = await s.client.get("/api/ready", headers=admin[1])
        assert r.status_code == 503
        checks = r.json()["checks"]
        assert checks["redis"] != "ok" and checks["database"] == "ok"
        assert "redis" in r.json()["detail"]
