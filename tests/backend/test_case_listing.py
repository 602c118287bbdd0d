"""Listing: filters, search, sorting and paging."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.backend.backend_testkit import Stack, png_bytes, upload_files


async def test_filters_search_sort_and_paging(stack: Stack) -> None:
    _, headers = await stack.user_headers("clinician")
    tag = uuid.uuid4().hex[:6]
    ids = {}
    for priority in ("routine", "stat", "urgent"):
        r = await stack.client.post(
            "/api/cases",
            headers=headers,
            files=upload_files(png_bytes(), f"{tag}-{priority}.png"),
            data={
                "priority": priority,
                "patient_ref": f"P{tag}{priority}",
                "priority_reason": f"test: {priority} wanted",
            },
        )
        assert r.status_code == 202, r.text
        ids[priority] = r.json()["id"]

    async def listed(query: str) -> dict:  # type: ignore[type-arg]
        r = await stack.client.get(f"/api/cases?{query}", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    newest = await listed("sort=newest&limit=3")
    assert [c["id"] for c in newest["items"]] == [ids["urgent"], ids["stat"], ids["routine"]]
    worklist = await listed("limit=3")  # default: triage order
    assert [c["id"] for c in worklist["items"]] == [ids["stat"], ids["urgent"], ids["routine"]]
    by_priority = await listed("sort=priority&limit=3")
    assert [c["priority"] for c in by_priority["items"]] == ["stat", "urgent", "routine"]
    assert [c["id"] for c in (await listed(f"q=P{tag}STAT"))["items"]] == [ids["stat"]]
    assert (await listed(f"q={tag}-urgent"))["total"] == 0  # upload file names are not kept
    assert (await listed("q=%25"))["total"] == 0  # LIKE wildcards are literal
    assert (await listed("priority=stat&status=queued"))["total"] == 1
    page = await listed("sort=newest&limit=1&offset=1")
    assert page["items"][0]["id"] == ids["stat"] and page["total"] == 3
    assert (page["limit"], page["offset"]) == (1, 1)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert (await listed(f"created_from={future}"))["total"] == 0
    assert (await listed(f"created_to={future}"))["total"] == 3

    for bad in ("limit=101", "limit=0", "offset=-1", "status=lost", "sort=random"):
        r = await stack.client.get(f"/api/cases?{bad}", headers=headers)
        assert r.status_code == 400 and r.json()["detail"], (bad, r.text)
