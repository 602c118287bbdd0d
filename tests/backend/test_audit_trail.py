"""The audit trail: what is recorded, how admins filter and export it, and that neither the
API nor a hand-written SQL statement can change or delete an event."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.admin.audit_csv import csv_safe
from tests.backend.backend_testkit import PASSWORD, Stack, png_bytes, upload_files


async def test_no_api_changes_or_deletes_an_event(stack: Stack, admin) -> None:
    schema = (await stack.client.get("/api/schema/openapi.json")).json()
    audit_paths = {
        p: set(ops) for p, ops in schema["paths"].items() if p.startswith("/api/admin/audit")
    }
    assert set(audit_paths) == {
        "/api/admin/audit",
        "/api/admin/audit.csv",
        "/api/admin/audit/actions",
    }
    assert all(ops == {"get"} for ops in audit_paths.values()), audit_paths
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        for path in ("/api/admin/audit", "/api/admin/audit.csv"):
            r = await stack.client.request(method, path, headers=admin[1])
            assert r.status_code == 405, (method, path, r.status_code)
        r = await stack.client.request(method, "/api/admin/audit/1", headers=admin[1])
        assert r.status_code == 404, (method, r.status_code)


async def test_the_database_refuses_update_and_delete(stack: Stack, clinician) -> None:
    """A trigger on audit_events (PostgreSQL, and SQLite too) refuses any change."""
    await stack.client.get("/api/me", headers=clinician[1])
    for statement in ("UPDATE audit_events SET action = 'tampered'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with stack.services.engine.begin() as conn:
                await conn.execute(text(statement))
    if stack.services.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            async with stack.services.engine.begin() as conn:
                await conn.execute(text("TRUNCATE audit_events"))
    async with stack.services.engine.connect() as conn:
        tampered = (
            await conn.execute(text("SELECT count(*) FROM audit_events WHERE action = 'tampered'"))
        ).scalar()
    assert tampered == 0


async def test_sign_ins_role_changes_and_filters(stack: Stack, admin) -> None:
    user_id, email = await stack.create_user("clinician")
    before = datetime.now(UTC) - timedelta(seconds=1)
    bad = await stack.client.post(
        "/api/auth/login",
        json={"email": email, "password": "nope"},
        headers={"X-Request-ID": "audit-fail-1"},
    )
    assert bad.status_code == 401
    await stack.login(email)
    r = await stack.client.patch(
        f"/api/admin/users/{user_id}", headers=admin[1], json={"role": "reviewer"}
    )
    assert r.status_code == 200

    mine = (await stack.client.get(f"/api/admin/audit?user_id={user_id}", headers=admin[1])).json()[
        "items"
    ]
    assert [e["action"] for e in mine] == ["auth.sign_in", "auth.sign_in_failed"]
    failed = mine[1]
    assert failed["request_id"] == bad.headers["x-request-id"] != "audit-fail-1"
    assert failed["client_addr"]
    assert failed["role"] == "clinician" and failed["user_email"] == email
    assert failed["detail"]["reason"] == "bad_password"
    change = (
        await stack.client.get(
            f"/api/admin/audit?action=user.update&object_id={user_id}", headers=admin[1]
        )
    ).json()
    assert change["items"][0]["detail"]["role"] == {"from": "clinician", "to": "reviewer"}
    assert change["items"][0]["user_id"] == admin[0]

    since = before.isoformat().replace("+00:00", "Z")
    window = (
        await stack.client.get(
            f"/api/admin/audit?since={since}&user_id={user_id}", headers=admin[1]
        )
    ).json()
    assert window["total"] == 2
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert (await stack.client.get(f"/api/admin/audit?since={future}", headers=admin[1])).json()[
        "total"
    ] == 0


async def test_case_filter_and_csv_export(stack: Stack, clinician, admin, reviewer) -> None:
    r = await stack.client.post(
        "/api/cases", headers=clinician[1], files=upload_files(png_bytes(), "chest.png")
    )
    case_id = r.json()["id"]
    await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])
    await stack.client.get(f"/api/cases/{case_id}/image", headers=clinician[1])

    by_case = (
        await stack.client.get(f"/api/admin/audit?case_id={case_id}", headers=admin[1])
    ).json()
    assert [e["action"] for e in by_case["items"]] == ["case.download", "case.view", "case.upload"]
    assert (
        await stack.client.get(f"/api/admin/audit.csv?case_id={case_id}", headers=reviewer[1])
    ).status_code == 403

    export = await stack.client.get(f"/api/admin/audit.csv?case_id={case_id}", headers=admin[1])
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [row["action"] for row in rows] == ["case.download", "case.view", "case.upload"]
    assert all(row["object_id"] == case_id and row["request_id"] for row in rows)
    assert rows[-1]["user_email"] and rows[-1]["role"] == "clinician"

    exports = (
        await stack.client.get("/api/admin/audit?action=audit.export&limit=1", headers=admin[1])
    ).json()["items"]
    assert exports[0]["user_id"] == admin[0]
    assert exports[0]["detail"]["filters"] == {"case_id": case_id}


async def test_csv_streams_many_rows(stack: Stack, admin) -> None:
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    for _ in range(3):
        await stack.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    body = (
        await stack.client.get("/api/admin/audit.csv?action=auth.sign_in_failed", headers=admin[1])
    ).text
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sum(email in row["detail"] for row in rows) == 3
    assert (
        len(rows)
        == (
            await stack.client.get(
                "/api/admin/audit?action=auth.sign_in_failed&limit=1", headers=admin[1]
            )
        ).json()["total"]
    )


def test_csv_cells_never_run_as_formulas() -> None:
    assert csv_safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert csv_safe("+1") == "'+1" and csv_safe("-1") == "'-1" and csv_safe("@a") == "'@a"
    assert csv_safe("case.view") == "case.view" and csv_safe(None) == ""


async def test_refused_sign_ins_during_lockout_are_recorded(
    stack: Stack, other_stack, admin
) -> None:
    async with other_stack(login_max_failures=2, login_lockout_seconds=60) as s:
        user_id, email = await s.create_user("clinician")
        for _ in range(2):
            await s.client.post("/api/auth/login", json={"email": email, "password": "wrong"})
        locked = await s.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert locked.status_code == 429
    events = (
        await stack.client.get(
            f"/api/admin/audit?user_id={user_id}&action=auth.sign_in_failed", headers=admin[1]
        )
    ).json()["items"]
    assert [e["detail"]["reason"] for e in events] == [
        "locked",
        "bad_password+locked",
        "bad_password",
    ]
