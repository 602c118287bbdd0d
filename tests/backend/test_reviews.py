"""Reviews append (never overwrite), need a done case, and set the case's review state."""

from __future__ import annotations

from tests.backend.backend_testkit import Stack, png_bytes, upload_files


async def _case(stack: Stack, headers: dict[str, str]) -> str:
    r = await stack.client.post("/api/cases", headers=headers, files=upload_files(png_bytes()))
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def test_reviews_append_history(stack: Stack, clinician, reviewer, admin) -> None:
    case_id = await _case(stack, clinician[1])
    early = await stack.client.post(
        f"/api/cases/{case_id}/review", headers=reviewer[1], json={"decision": "accept"}
    )
    assert early.status_code == 409 and "queued" in early.json()["detail"]
    await stack.finish_case(case_id)

    missing = await stack.client.post(
        f"/api/cases/{case_id}/review",
        headers=reviewer[1],
        json={"decision": "edit", "comment": "no text"},
    )
    assert missing.status_code == 400 and "findings_text" in missing.json()["detail"]
    bad = await stack.client.post(
        f"/api/cases/{case_id}/review", headers=reviewer[1], json={"decision": "maybe"}
    )
    assert bad.status_code == 400 and "decision" in bad.json()["detail"]

    first = await stack.client.post(
        f"/api/cases/{case_id}/review",
        headers=reviewer[1],
        json={"decision": "accept", "comment": "agree"},
    )
    assert first.status_code == 201, first.text
    second = await stack.client.post(
        f"/api/cases/{case_id}/review",
        headers=admin[1],
        json={
            "decision": "edit",
            "findings_text": "Unilateral pulmonary infection, one infected area, lower right lung.",
        },
    )
    assert second.status_code == 201

    history = (await stack.client.get(f"/api/cases/{case_id}/reviews", headers=clinician[1])).json()
    assert [h["decision"] for h in history] == ["accept", "edit"]
    assert history[0]["comment"] == "agree" and history[0]["findings_text"] is None
    assert history[1]["findings_text"].startswith("Unilateral")
    detail = (await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])).json()
    assert detail["review_state"] == "edited" and len(detail["reviews"]) == 2
    # the model's own text is kept; the edit lives in the review
    assert detail["findings_text"].startswith("Bilateral")
    listed = (
        await stack.client.get("/api/cases?review_state=edited&limit=100", headers=reviewer[1])
    ).json()
    assert case_id in [c["id"] for c in listed["items"]]
