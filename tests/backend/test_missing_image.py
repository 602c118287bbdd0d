"""A case whose stored film is gone says so and cannot be reviewed (issue 14: after a restart of
the old in-memory embedded store, cases showed a broken image and still offered Accept)."""

from __future__ import annotations

from tests.backend.backend_testkit import Stack, png_bytes, upload_files


async def _done_case(stack: Stack, headers: dict[str, str]) -> str:
    r = await stack.client.post("/api/cases", headers=headers, files=upload_files(png_bytes()))
    assert r.status_code == 202, r.text
    case_id = str(r.json()["id"])
    await stack.finish_case(case_id)
    return case_id


async def test_a_missing_image_is_named_and_blocks_review(
    stack: Stack, clinician, reviewer
) -> None:
    kept, lost = await _done_case(stack, clinician[1]), await _done_case(stack, clinician[1])
    case = await stack.get_case(lost)
    assert case is not None and case.image_key
    stack.s3().delete_object(Bucket=stack.settings.s3_bucket, Key=case.image_key)

    detail = await stack.client.get(f"/api/cases/{lost}", headers=clinician[1])
    assert detail.status_code == 200 and detail.json()["image_missing"] is True
    ok = await stack.client.get(f"/api/cases/{kept}", headers=clinician[1])
    assert ok.json()["image_missing"] is False

    for kind in ("image", "preview", "thumbnail"):
        r = await stack.client.get(f"/api/cases/{lost}/{kind}", headers=reviewer[1])
        assert r.status_code == 410, (kind, r.text)
        assert "stored image of this case is missing" in r.json()["detail"]

    refused = await stack.client.post(
        f"/api/cases/{lost}/review", headers=reviewer[1], json={"decision": "accept"}
    )
    assert refused.status_code == 409, refused.text
    assert "cannot be reviewed" in refused.json()["detail"]
    assert "stored image of this case is missing" in refused.json()["detail"]
    after = (await stack.client.get(f"/api/cases/{lost}", headers=reviewer[1])).json()
    assert after["review_state"] == "unreviewed" and after["reviews"] == []

    accepted = await stack.client.post(
        f"/api/cases/{kept}/review", headers=reviewer[1], json={"decision": "accept"}
    )
    assert accepted.status_code == 201, accepted.text


async def test_a_missing_mask_is_named(stack: Stack, clinician) -> None:
    case_id = await _done_case(stack, clinician[1])
    case = await stack.get_case(case_id)
    assert case is not None and case.mask_key
    stack.s3().delete_object(Bucket=stack.settings.s3_bucket, Key=case.mask_key)
    r = await stack.client.get(f"/api/cases/{case_id}/mask", headers=clinician[1])
    assert r.status_code == 410 and "stored mask of this case is missing" in r.json()["detail"]
    assert (
        await stack.client.get(f"/api/cases/{case_id}/image", headers=clinician[1])
    ).status_code == 200
