"""A case quarantined by `medsegtext deidentify-stored` (a DICOM film with burned-in annotation)
is refused by a running API at once, with no restart (issue 12): the API keeps served images in
memory (backend.platform.artifact_cache), so moving the objects away was not enough; it kept
serving the burned-in film, its preview, mask and overlay from that cache. Own database and
bucket (backfill_testkit)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.cases import backfill
from backend.settings import Settings
from tests.backend.backend_testkit import Stack, png_bytes
from tests.backend.backfill_testkit import (
    audit_actions,
    case_objects,
    own_stack,
    row,
    run_command,
    store_the_old_way,
)
from tests.backend.phi_dicom import phi_laden_dx

BUCKET = "medsegtext-quarantine-reads-test"
ARTIFACTS = ("image", "preview", "thumbnail", "mask", "overlay")
REPORTS = ("report.pdf", "report.fhir.json", "seg.dcm", "sr.dcm")


@pytest.fixture(scope="module")
async def own(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with own_stack(
        settings, tmp_path_factory.mktemp("quarantine-reads-db"), "quarantine_reads", BUCKET
    ) as s:
        yield s


async def test_a_running_api_refuses_a_quarantined_case_at_once(
    own: Stack, shared_data: Path
) -> None:
    base = (shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm").read_bytes()
    burned = phi_laden_dx(base, size=64, burned_in="YES")
    owner_id, owner = await own.user_headers("clinician")
    _, reviewer = await own.user_headers("reviewer")
    _, stranger = await own.user_headers("clinician")
    case_id = await store_the_old_way(own, owner_id, burned.data)
    case = await row(own, case_id)
    for key in (case.mask_key, case.overlay_key):  # pictures the PDF renderer can read
        assert key is not None
        await own.services.store.put(key, png_bytes(64, 64, 90), "image/png")

    served = {}
    for kind in ARTIFACTS:  # the running API serves them, and keeps them in its cache
        got = await own.client.get(f"/api/cases/{case_id}/{kind}", headers=owner)
        assert got.status_code == 200, (kind, got.text)
        served[kind] = got.content
    pdf = await own.client.get(f"/api/cases/{case_id}/report.pdf", headers=owner)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    run = await run_command(own.settings)  # another process, as operators run it
    assert run.rc == 0, run.stderr
    assert (run.summary["quarantined"], run.summary["burned_in"]) == (1, [case_id])
    assert "restart the API" not in run.stderr  # no longer needed, so no longer advised
    assert await case_objects(own, case_id) == {}
    quarantined = await row(own, case_id)
    assert quarantined.quarantined_at is not None
    assert await audit_actions(own, case_id) == [backfill.QUARANTINE]

    # the same API process, cache and all: every read of the case is refused, saying why
    for path in (*ARTIFACTS, *REPORTS, "reviews", ""):
        got = await own.client.get(f"/api/cases/{case_id}/{path}".rstrip("/"), headers=owner)
        assert got.status_code == 410, (path, got.status_code)
        detail = got.json()["detail"]
        assert "quarantine" in detail and "privacy officer" in detail, (path, detail)
        assert got.content not in served.values()
    review = await own.client.post(
        f"/api/cases/{case_id}/review", headers=reviewer, json={"decision": "accept"}
    )
    assert review.status_code == 410 and "quarantine" in review.json()["detail"]
    # someone who could not see the case still learns nothing about it
    hidden = await own.client.get(f"/api/cases/{case_id}/image", headers=stranger)
    assert hidden.status_code == 404
    # the worklist still lists it, with the reason
    listed = await own.client.get("/api/cases", headers=owner)
    assert [(c["id"], c["error"]) for c in listed.json()["items"]] == [
        (case_id, backfill.QUARANTINE_ERROR)
    ]
