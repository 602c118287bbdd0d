"""The API's artifact cache follows a film rewritten in place (issue 12): `medsegtext
deidentify-stored` replaces a stored DICOM under the same key and updates the row's checksum; a
running API that had served (and cached) the old file must serve the new one at once, with no
restart. Its own database and bucket, as the backfill suite has, so the run sees only this
suite's films."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pydicom
import pytest

from backend.cases import backfill
from backend.cases.models import Case, new_case_id
from backend.platform.db import transaction
from backend.settings import Settings
from tests.backend.backend_testkit import Stack
from tests.backend.backfill_testkit import own_stack
from tests.backend.phi_dicom import PhiFilm, phi_laden_dx, surviving

BUCKET = "medsegtext-cache-rewrite-test"


@pytest.fixture(scope="module")
def film(shared_data: Path) -> PhiFilm:
    base = (shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm").read_bytes()
    return phi_laden_dx(base, size=96)


@pytest.fixture(scope="module")
async def own(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with own_stack(
        settings, tmp_path_factory.mktemp("cache-rewrite-db"), "cache_rewrite", BUCKET
    ) as s:
        yield s


async def test_api_serves_the_rewritten_film_without_a_restart(own: Stack, film: PhiFilm) -> None:
    owner_id, headers = await own.user_headers("clinician")
    # a film stored before de-identification: the bytes as sent, and their checksum in the row
    case_id = new_case_id()
    key = own.services.store.key(case_id, "original.dcm")
    await own.services.store.put(key, film.data, "application/dicom")
    async with transaction(own.services.sessions) as db:
        db.add(
            Case(
                id=case_id,
                owner_id=owner_id,
                status="queued",
                original_filename="image.dcm",
                source_format="dicom",
                content_sha256=hashlib.sha256(film.data).hexdigest(),
                width=96,
                height=96,
                image_key=key,
            )
        )

    before = await own.client.get(f"/api/cases/{case_id}/image", headers=headers)
    assert before.status_code == 200 and before.content == film.data  # now in the API's cache
    preview_before = await own.client.get(f"/api/cases/{case_id}/preview", headers=headers)
    assert preview_before.status_code == 200

    summary = await backfill.run(own.settings)  # the command's work, in this process
    assert (summary.rewritten, summary.failed) == (1, [])
    rewritten = own.get_object(key)
    assert rewritten != film.data and surviving(film.planted, rewritten) == []

    after = await own.client.get(f"/api/cases/{case_id}/image", headers=headers)
    assert after.status_code == 200 and after.content == rewritten
    assert pydicom.dcmread(io.BytesIO(after.content)).PatientIdentityRemoved == "YES"
    # the pixels were copied byte for byte, so the preview rendered from the new file is the
    # same picture; it is served from the new file's entry, not an error
    preview_after = await own.client.get(f"/api/cases/{case_id}/preview", headers=headers)
    assert preview_after.status_code == 200 and preview_after.content == preview_before.content
