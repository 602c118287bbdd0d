"""`medsegtext deidentify-stored` strips the metadata of PNG and JPEG films stored before uploads
were stripped (issue 12): text chunks, EXIF, XMP, IPTC, ICC, comments and appended images with
PHI planted in each are stored the old way (raw bytes under the case's key, with its row), the
command is run for real, and the object, the row, the API's answers and a second run are
checked. Own database and bucket (backfill_testkit), so the counts are exact."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator

import numpy as np
import pytest
from PIL import Image

from backend.cases import backfill
from backend.cases.backfill_plan import Unfit, plan
from backend.settings import Settings
from inference.decode import decode
from tests.backend.backend_testkit import Stack, upload_files
from tests.backend.backfill_testkit import (
    audit_actions,
    case_objects,
    own_stack,
    row,
    run_command,
    store_the_old_way,
)
from tests.backend.phi_images import (
    PhiImage,
    chunk_kinds,
    jpeg_markers,
    phi_jpeg,
    phi_png,
    surviving,
)

BUCKET = "medsegtext-backfill-images-test"
PNG_KEPT = [b"IHDR", b"sBIT", b"pHYs", b"IDAT", b"IEND"]  # of phi_png's chunks
SUMMARY_KEYS = (
    "dry_run",
    "scanned",
    "rewritten",
    "already_done",
    "rows_repaired",
    "quarantined",
    "burned_in",
    "failed",
)


@pytest.fixture(scope="module")
async def own(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with own_stack(
        settings, tmp_path_factory.mktemp("backfill-images-db"), "backfill_images", BUCKET
    ) as s:
        yield s


def assert_same_picture(stored: bytes, original: bytes) -> None:
    """The pixels Pillow decodes and the ones the model gets (grey, turned) are the upload's."""
    with Image.open(io.BytesIO(stored)) as a, Image.open(io.BytesIO(original)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert np.array_equal(decode(stored).pixels, decode(original).pixels)


async def test_stored_png_and_jpeg_films_lose_their_metadata_once(own: Stack) -> None:
    owner_id, headers = await own.user_headers("clinician")
    films: dict[str, tuple[PhiImage, str]] = {
        "png": (phi_png(), "png"),
        "jpeg": (phi_jpeg("L"), "jpeg"),
        "jpeg-turned": (phi_jpeg("RGB", orientation=6), "jpeg"),
    }
    cases = {}
    for name, (image, fmt) in films.items():
        assert surviving(image.planted, image.data) == image.planted  # the PHI is there
        cases[name] = await store_the_old_way(own, owner_id, image.data, fmt)
    r = await own.client.post(
        "/api/cases", headers=headers, files=upload_files(phi_png().data, "chest.png")
    )
    assert r.status_code == 202, r.text
    current = r.json()["id"]  # stripped at upload: already done
    before = {cid: await case_objects(own, cid) for cid in [*cases.values(), current]}
    for name, cid in cases.items():  # a running API serves (and caches) the old bytes
        served = await own.client.get(f"/api/cases/{cid}/image", headers=headers)
        assert served.status_code == 200 and served.content == films[name][0].data

    # --dry-run: says what it would do, changes nothing
    dry = await run_command(own.settings, "--dry-run")
    assert dry.rc == 0, dry.stderr
    assert {k: dry.summary[k] for k in SUMMARY_KEYS} == {
        "dry_run": True,
        "scanned": 4,
        "rewritten": 3,
        "already_done": 1,
        "rows_repaired": 0,
        "quarantined": 0,
        "burned_in": [],
        "failed": [],
    }
    for cid, objects in before.items():
        assert await case_objects(own, cid) == objects
    for name, cid in cases.items():
        case = await row(own, cid)
        assert case.content_sha256 == hashlib.sha256(films[name][0].data).hexdigest()
        assert await audit_actions(own, cid) == []

    # the real run
    first = await run_command(own.settings)
    assert first.rc == 0, first.stderr
    assert {k: first.summary[k] for k in SUMMARY_KEYS} == {
        "dry_run": False,
        "scanned": 4,
        "rewritten": 3,
        "already_done": 1,
        "rows_repaired": 0,
        "quarantined": 0,
        "burned_in": [],
        "failed": [],
    }
    assert "restart the API" not in first.stderr
    stored = {}
    for name, cid in cases.items():
        image = films[name][0]
        case = await row(own, cid)
        stored[name] = own.get_object(case.image_key)
        assert surviving(image.planted, stored[name]) == [], name
        assert_same_picture(stored[name], image.data)
        assert case.content_sha256 == hashlib.sha256(stored[name]).hexdigest()
        assert (case.width, case.height) == (decode(image.data).width, decode(image.data).height)
        assert await audit_actions(own, cid) == [backfill.DEIDENTIFY_STORED]
        # the running API serves the new file at once (its cache follows the checksum)
        served = await own.client.get(f"/api/cases/{cid}/image", headers=headers)
        assert served.status_code == 200 and served.content == stored[name]
        preview = await own.client.get(f"/api/cases/{cid}/preview", headers=headers)
        assert preview.status_code == 200 and surviving(image.planted, preview.content) == []
        # the mask and overlay, made from the unchanged pixels, stay where they were
        after = await case_objects(own, cid)
        assert {k: v for k, v in after.items() if k != case.image_key} == {
            k: v for k, v in before[cid].items() if k != case.image_key
        }
    # the compressed (zTXt, iCCP) and binary (tIME, eXIf) chunks are gone too, not just the text
    assert chunk_kinds(stored["png"]) == PNG_KEPT
    assert stored["jpeg"].count(b"\xff\xd8") == 1  # the appended JPEG is gone
    assert [m for m in jpeg_markers(stored["jpeg"]) if 0xE0 <= m <= 0xEF or m == 0xFE] == [0xE0]
    assert [m for m in jpeg_markers(stored["jpeg-turned"]) if 0xE0 <= m <= 0xEF or m == 0xFE] == [
        0xE0,
        0xE1,
    ]  # JFIF, EXIF Orientation alone
    assert await case_objects(own, current) == before[current]  # already done: untouched

    # a second run rewrites nothing and records nothing
    second = await run_command(own.settings)
    assert second.rc == 0, second.stderr
    assert (
        second.summary["rewritten"],
        second.summary["already_done"],
        second.summary["rows_repaired"],
        second.summary["failed"],
    ) == (0, 4, 0, [])
    for name, cid in cases.items():
        assert own.get_object((await row(own, cid)).image_key) == stored[name]
        assert await audit_actions(own, cid) == [backfill.DEIDENTIFY_STORED]


async def test_a_run_stopped_after_writing_a_stripped_png_is_finished_by_the_next(
    own: Stack,
) -> None:
    """The stripped file was written but the row not updated (the process died between the
    two): the next run sees the file is done and only repairs the row's checksum."""
    owner_id, _ = await own.user_headers("clinician")
    image = phi_png()
    case_id = await store_the_old_way(own, owner_id, image.data, "png", with_results=False)
    key = (await row(own, case_id)).image_key
    new = plan(image.data, 96, 72, "png").data
    await own.services.store.put(key, new, "image/png")

    summary = await backfill.run(own.settings)
    assert (summary.rewritten, summary.rows_repaired, summary.failed) == (0, 1, [])
    assert own.get_object(key) == new and surviving(image.planted, new) == []
    assert (await row(own, case_id)).content_sha256 == hashlib.sha256(new).hexdigest()
    again = await backfill.run(own.settings)
    assert (again.rewritten, again.rows_repaired, again.failed) == (0, 0, [])


def test_plan_for_png_and_jpeg() -> None:
    """Done when stripping changes nothing (a palette PNG keeps its PLTE); a rewrite is itself
    done; a file that does not decode, or decodes to another size than the row's, is refused."""
    buf = io.BytesIO()
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).convert("P").save(buf, "PNG")
    assert plan(buf.getvalue(), 8, 8, "png").action == "done"
    jpeg = phi_jpeg("RGB", orientation=6).data
    step = plan(jpeg, 80, 64, "jpeg")
    assert step.action == "rewrite" and step.sha256 == hashlib.sha256(step.data).hexdigest()
    assert plan(step.data, 80, 64, "jpeg").action == "done"
    with pytest.raises(Unfit, match="not a readable PNG"):
        plan(b"\x89PNG\r\n\x1a\n not a png", 8, 8, "png")
    with pytest.raises(Unfit, match="not a readable JPEG"):
        plan(phi_png().data, 96, 72, "jpeg")
    with pytest.raises(Unfit, match="the case row says 9x8"):
        plan(phi_png().data, 9, 8, "png")
