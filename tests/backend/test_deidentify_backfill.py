"""`medsegtext deidentify-stored` (issue 12): DICOM films stored before PS3.15 de-identification
still held PHI in S3. A PHI-laden film is stored the old way (raw bytes under the case's key,
with its row), the command is run for real against the embedded stack, and the object, the row,
the API's answers and a second run are checked. Burned-in films are moved to quarantine.

The suite has its own database and bucket (on the session's moto server), so its counts are
exact and the rows it leaves broken on purpose reach no other suite."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import pydicom
import pytest

from backend.cases import backfill
from backend.cases.backfill_plan import is_done, plan
from backend.cases.deidentify import METHOD, deidentify_dicom
from backend.cases.models import Case
from backend.cli import deidentify_stored
from backend.platform.db import transaction
from backend.settings import Settings
from tests.backend.backend_testkit import Stack, upload_files
from tests.backend.backfill_testkit import (
    audit_actions,
    case_objects,
    keys_under,
    own_stack,
    row,
    run_command,
    store_the_old_way,
)
from tests.backend.phi_dicom import PhiFilm, phi_laden_dx, surviving

BUCKET = "medsegtext-backfill-test"


@pytest.fixture(scope="module")
def base_dicom(shared_data: Path) -> bytes:
    return (shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm").read_bytes()


@pytest.fixture(scope="module")
def film(base_dicom: bytes) -> PhiFilm:
    return phi_laden_dx(base_dicom, size=128)


@pytest.fixture(scope="module")
def burned(base_dicom: bytes) -> PhiFilm:
    return phi_laden_dx(base_dicom, size=64, burned_in="YES")


@pytest.fixture(scope="module")
async def own(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with own_stack(settings, tmp_path_factory.mktemp("backfill-db"), "backfill", BUCKET) as s:
        yield s


@pytest.fixture(scope="module")
async def owner(own: Stack) -> tuple[int, dict[str, str]]:
    return await own.user_headers("clinician")


async def test_stored_phi_films_are_deidentified_once(
    own: Stack, owner, film: PhiFilm, burned: PhiFilm
) -> None:
    legacy = await store_the_old_way(own, owner[0], film.data)
    burned_id = await store_the_old_way(own, owner[0], burned.data)
    r = await own.client.post(
        "/api/cases", headers=owner[1], files=upload_files(film.data, "chest.dcm")
    )
    assert r.status_code == 202, r.text
    current = r.json()["id"]
    before = {cid: await case_objects(own, cid) for cid in (legacy, burned_id, current)}
    legacy_key = (await row(own, legacy)).image_key
    assert surviving(film.planted, before[legacy][legacy_key])  # the PHI is there to remove

    # --dry-run: says what it would do, changes nothing
    dry = await run_command(own.settings, "--dry-run")
    assert dry.rc == 0, dry.stderr
    assert {
        k: dry.summary[k]
        for k in (
            "dry_run",
            "scanned",
            "rewritten",
            "already_done",
            "quarantined",
            "burned_in",
            "failed",
        )
    } == {
        "dry_run": True,
        "scanned": 3,
        "rewritten": 1,
        "already_done": 1,
        "quarantined": 0,
        "burned_in": [burned_id],
        "failed": [],
    }
    for cid, objects in before.items():
        assert await case_objects(own, cid) == objects
    assert (await row(own, legacy)).content_sha256 == hashlib.sha256(film.data).hexdigest()
    assert not own.s3().list_objects_v2(Bucket=BUCKET, Prefix="cases/quarantine/").get("KeyCount")
    assert await audit_actions(own, legacy) == [] and await audit_actions(own, burned_id) == []

    # the real run
    first = await run_command(own.settings)
    assert first.rc == 0, first.stderr
    assert {
        k: first.summary[k]
        for k in (
            "dry_run",
            "scanned",
            "rewritten",
            "already_done",
            "rows_repaired",
            "quarantined",
            "burned_in",
            "failed",
        )
    } == {
        "dry_run": False,
        "scanned": 3,
        "rewritten": 1,
        "already_done": 1,
        "rows_repaired": 0,
        "quarantined": 1,
        "burned_in": [burned_id],
        "failed": [],
    }
    assert f"{burned_id}" in first.stderr and "noncurrent versions" in first.stderr
    assert "restart the API" not in first.stderr

    stored = own.get_object(legacy_key)
    ds = pydicom.dcmread(io.BytesIO(stored))
    assert surviving(film.planted, stored, ds) == []
    assert ds.PatientIdentityRemoved == "YES" and ds.DeidentificationMethod == METHOD
    assert ds.PixelData == film.dataset.PixelData
    case = await row(own, legacy)
    assert case.content_sha256 == hashlib.sha256(stored).hexdigest()
    assert (case.width, case.height, case.image_key) == (128, 128, legacy_key)
    assert await audit_actions(own, legacy) == [backfill.DEIDENTIFY_STORED]
    served = await own.client.get(f"/api/cases/{legacy}/image", headers=owner[1])
    assert served.status_code == 200 and served.content == stored
    # the mask and overlay, made from the unchanged pixels, stay where they were
    after = await case_objects(own, legacy)
    assert {k: v for k, v in after.items() if k != legacy_key} == {
        k: v for k, v in before[legacy].items() if k != legacy_key
    }
    assert await case_objects(own, current) == before[current]  # already done: untouched

    # burned-in: nothing of the case is served any more, nothing is lost, the row says why
    assert await case_objects(own, burned_id) == {}
    for kind in ("image", "preview", "overlay", "mask"):
        got = await own.client.get(f"/api/cases/{burned_id}/{kind}", headers=owner[1])
        assert got.status_code == 410 and "quarantine" in got.json()["detail"], kind
    quarantined = {
        k.replace(f"quarantine/{burned_id}/", f"{burned_id}/"): own.get_object(k)
        for k in keys_under(own, f"cases/quarantine/{burned_id}/")
    }
    assert quarantined == before[burned_id]
    burned_row = await row(own, burned_id)
    assert burned_row.error == backfill.QUARANTINE_ERROR and burned_row.quarantined_at
    assert burned_row.content_sha256 == hashlib.sha256(burned.data).hexdigest()
    assert await audit_actions(own, burned_id) == [backfill.QUARANTINE]

    # a second run rewrites nothing and records nothing
    second = await run_command(own.settings)
    assert second.rc == 0, second.stderr
    assert (
        second.summary["rewritten"],
        second.summary["already_done"],
        second.summary["quarantined"],
        second.summary["burned_in"],
    ) == (0, 2, 0, [burned_id])
    assert own.get_object(legacy_key) == stored
    assert await audit_actions(own, legacy) == [backfill.DEIDENTIFY_STORED]
    assert await audit_actions(own, burned_id) == [backfill.QUARANTINE]


async def test_a_run_stopped_after_the_write_is_finished_by_the_next(
    own: Stack, owner, film: PhiFilm
) -> None:
    """The new file was written but the row not updated (the process died between the two):
    the next run sees the file is done and only repairs the row's checksum."""
    case_id = await store_the_old_way(own, owner[0], film.data, with_results=False)
    key = (await row(own, case_id)).image_key
    new = deidentify_dicom(film.data)
    await own.services.store.put(key, new, "application/dicom")

    summary = await backfill.run(own.settings)
    assert summary.failed == [] and summary.rewritten == 0 and summary.rows_repaired == 1
    assert own.get_object(key) == new
    assert (await row(own, case_id)).content_sha256 == hashlib.sha256(new).hexdigest()
    again = await backfill.run(own.settings)
    assert (again.rewritten, again.rows_repaired, again.quarantined) == (0, 0, 0)


async def test_quarantine_stopped_midway_is_finished_and_recorded_once(
    own: Stack, owner, burned: PhiFilm
) -> None:
    """A run died after copying the film to quarantine, before deleting it: the next run moves
    the rest, and later runs record nothing more (even if a job overwrote the row's error)."""
    case_id = await store_the_old_way(own, owner[0], burned.data)
    objects = await case_objects(own, case_id)
    key = (await row(own, case_id)).image_key
    target = own.services.store.key(backfill.QUARANTINE_FOLDER, f"{case_id}/original.dcm")
    await own.services.store.put(target, burned.data, "application/dicom")

    summary = await backfill.run(own.settings)
    assert summary.quarantined == 1 and case_id in summary.burned_in and summary.failed == []
    assert await case_objects(own, case_id) == {}
    assert {
        k.replace(f"quarantine/{case_id}/", f"{case_id}/"): own.get_object(k)
        for k in keys_under(own, f"cases/quarantine/{case_id}/")
    } == objects
    async with transaction(own.services.sessions) as db:
        case = await db.get(Case, case_id)
        assert case is not None
        case.status, case.error = "failed", "the uploaded image is missing from storage"
        db.add(case)

    again = await backfill.run(own.settings)
    assert again.quarantined == 0 and case_id in again.burned_in and again.failed == []
    assert (await row(own, case_id)).error == backfill.QUARANTINE_ERROR
    assert await audit_actions(own, case_id) == [backfill.QUARANTINE]
    got = await own.client.get(f"/api/cases/{case_id}/image", headers=owner[1])
    assert got.status_code == 410 and key not in keys_under(own, "cases/")


def test_markers_alone_do_not_make_a_file_done(film: PhiFilm) -> None:
    """A file that says PatientIdentityRemoved YES with our method (as films stored by the
    previous, partial de-identification said YES) but still holds PHI is rewritten."""
    ds = film.dataset.copy()
    ds.PatientIdentityRemoved, ds.DeidentificationMethod = "YES", METHOD
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    assert not is_done(buf.getvalue())
    step = plan(buf.getvalue(), 128, 128)
    assert step.action == "rewrite" and surviving(film.planted, step.data) == []
    assert is_done(step.data) and plan(step.data, 128, 128).action == "done"


async def test_unusable_films_are_reported_and_left_alone(own: Stack, owner, film: PhiFilm) -> None:
    missing = await store_the_old_way(own, owner[0], film.data, with_results=False)
    await own.services.store.delete((await row(own, missing)).image_key)
    garbage = await store_the_old_way(own, owner[0], film.data, with_results=False)
    garbage_key = (await row(own, garbage)).image_key
    await own.services.store.put(garbage_key, b"DICM? no", "application/dicom")
    try:
        rc = await anyio.to_thread.run_sync(deidentify_stored, False, own.settings)
        assert rc == 1
        summary = await backfill.run(own.settings, dry_run=True)
        reasons = {f["case_id"]: f["reason"] for f in summary.failed}
        assert reasons == {
            missing: "the stored file is missing",
            garbage: "the stored file is not readable DICOM (InvalidDicomError)",
        }
        assert own.get_object(garbage_key) == b"DICM? no"
    finally:
        async with transaction(own.services.sessions) as db:
            for case_id in (missing, garbage):
                case = await db.get(Case, case_id)
                await db.delete(case)
