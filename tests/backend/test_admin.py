"""Admin: users, audit trail and statistics."""

from __future__ import annotations

import uuid

from tests.backend.backend_testkit import Stack, png_bytes, upload_files


async def test_user_management(stack: Stack, admin) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.org"
    short = await stack.client.post(
        "/api/admin/users",
        headers=admin[1],
        json={"email": email, "password": "too-short", "role": "clinician"},
    )
    assert short.status_code == 400 and "12 characters" in short.json()["detail"]
    bad_role = await stack.client.post(
        "/api/admin/users",
        headers=admin[1],
        json={"email": email, "password": "long-enough-password", "role": "superuser"},
    )
    assert bad_role.status_code == 400 and "role" in bad_role.json()["detail"]

    made = await stack.client.post(
        "/api/admin/users",
        headers=admin[1],
        json={
            "email": email,
            "password": "long-enough-password",
            "role": "clinician",
            "full_name": "Dr New",
        },
    )
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    again = await stack.client.post(
        "/api/admin/users",
        headers=admin[1],
        json={"email": email.upper(), "password": "long-enough-password", "role": "clinician"},
    )
    assert again.status_code == 409

    promoted = await stack.client.patch(
        f"/api/admin/users/{user_id}", headers=admin[1], json={"role": "reviewer"}
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "reviewer"
    self_demote = await stack.client.patch(
        f"/api/admin/users/{admin[0]}", headers=admin[1], json={"role": "clinician"}
    )
    assert self_demote.status_code == 400
    assert (
        await stack.client.patch(
            "/api/admin/users/999999", headers=admin[1], json={"role": "admin"}
        )
    ).status_code == 404

    found = (await stack.client.get(f"/api/admin/users?q={email[:12]}", headers=admin[1])).json()
    assert [u["email"] for u in found["items"]] == [email] and found["total"] == 1

    audit = (
        await stack.client.get(
            f"/api/admin/audit?object_type=user&object_id={user_id}", headers=admin[1]
        )
    ).json()
    assert [e["action"] for e in audit["items"]] == ["user.update", "user.create"]
    assert audit["items"][0]["detail"]["role"] == {"from": "clinician", "to": "reviewer"}
    assert audit["items"][0]["user_id"] == admin[0]


async def test_audit_trail_of_a_case(stack: Stack, clinician, admin) -> None:
    r = await stack.client.post("/api/cases", headers=clinician[1], files=upload_files(png_bytes()))
    case_id = r.json()["id"]
    await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])
    await stack.client.get(f"/api/cases/{case_id}/image", headers=clinician[1])
    events = (
        await stack.client.get(f"/api/admin/audit?object_id={case_id}", headers=admin[1])
    ).json()["items"]
    assert [e["action"] for e in events] == ["case.download", "case.view", "case.upload"]
    assert all(e["user_id"] == clinician[0] and e["request_id"] for e in events)
    assert events[0]["detail"] == {"artifact": "image"}

    sign_ins = (
        await stack.client.get("/api/admin/audit?action=auth.sign_in&limit=5", headers=admin[1])
    ).json()
    assert sign_ins["total"] >= 1 and sign_ins["items"][0]["action"] == "auth.sign_in"


async def test_stats(stack: Stack, clinician, reviewer, admin) -> None:
    r = await stack.client.post("/api/cases", headers=clinician[1], files=upload_files(png_bytes()))
    await stack.finish_case(r.json()["id"])
    await stack.client.post(
        f"/api/cases/{r.json()['id']}/review", headers=reviewer[1], json={"decision": "accept"}
    )
    stats = (await stack.client.get("/api/admin/stats", headers=admin[1])).json()
    assert stats["cases_by_status"]["done"] >= 1
    assert stats["cases_total"] == sum(stats["cases_by_status"].values())
    assert isinstance(stats["queue_depth"], int) and stats["queue_depth"] >= 1
    assert stats["turnaround"]["cases"] >= 1 and stats["turnaround"]["p50_seconds"] >= 0
    assert stats["failure_rate"] == 0
    assert 0 < stats["accepted_unedited_share"] <= 1


async def test_repeated_views_are_audited_once(stack: Stack, clinician, admin) -> None:
    r = await stack.client.post("/api/cases", headers=clinician[1], files=upload_files(png_bytes()))
    case_id = r.json()["id"]
    for _ in range(3):  # the UI polling a queued case
        assert (
            await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])
        ).status_code == 200
    events = (
        await stack.client.get(
            f"/api/admin/audit?object_id={case_id}&action=case.view", headers=admin[1]
        )
    ).json()
    assert events["total"] == 1
