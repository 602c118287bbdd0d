"""The dataset export takes the reviewer's truth (backend.datasets.layout): accepted cases with
the model's mask; a case corrected to no lesion with an EMPTY mask; an edit that moves the lesion
to other zones, or names none, left out; rejected cases excluded; every image and mask in
standard display, the side convention written in the zip's README."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import numpy as np
from PIL import Image

from backend.accounts.models import User
from backend.cases.models import Case
from backend.datasets import layout
from backend.platform.db import transaction, utcnow
from backend.reviews.models import Review
from backend.reviews.outcome import outcome_of
from inference.findings import ZONE_ORDER, render
from inference.sides import NO_LESION_SENTENCE, NOT_OUTLINED_SENTENCE, PATIENT_ZONES, to_image
from tests.backend.backend_testkit import Stack, upload_files
from tests.backend.model_kit import review
from tests.inference.test_decode import dicom_bytes, make_dicom

EXPORT = "/api/admin/datasets/export"
SIZE = 64
MODEL_FLAGS = {z: z == "patient_right_lower" for z in PATIENT_ZONES}
CLEAR = dict.fromkeys(PATIENT_ZONES, False)
MOVED = {z: z == "patient_left_upper" for z in PATIENT_ZONES}


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


LEFT_HALF = np.zeros((SIZE, SIZE), np.uint8)
LEFT_HALF[:, : SIZE // 2] = 255  # the image's left half: the patient's right on a standard film


async def _done_case(stack: Stack, clinician: dict[str, str], data: bytes, filename: str) -> str:
    """An uploaded film made done as the worker would: the model's mask over the image's left
    half, its flag in the patient's right lower zone."""
    r = await stack.client.post("/api/cases", headers=clinician, files=upload_files(data, filename))
    assert r.status_code == 202, r.text
    case_id = str(r.json()["id"])
    mask_key = stack.services.store.key(case_id, "test/mask.png")
    await stack.services.store.put(mask_key, _png(LEFT_HALF), "image/png")
    async with transaction(stack.services.sessions) as db:
        case = await db.get(Case, case_id)
        assert case is not None
        case.status, case.mask_key, case.finished_at = "done", mask_key, utcnow()
        case.zone_flags, case.model_version = dict(MODEL_FLAGS), "test"
        case.findings_text = "unilateral pulmonary infection, one infected area, lower right lung."
        db.add(case)
    return case_id


def _film() -> bytes:
    ramp = np.tile(np.linspace(0, 255, SIZE, dtype=np.uint8), (SIZE, 1))  # dark left, bright right
    return _png(ramp)


async def _export(
    stack: Stack, admin: dict[str, str], start: str
) -> tuple[dict[str, dict[str, str]], zipfile.ZipFile, str]:
    r = await stack.client.post(EXPORT, headers=admin, json={"created_from": start})
    assert r.status_code == 200, r.text
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    rows = {
        row["case_id"]: row
        for row in csv.DictReader(io.StringIO(zf.read("annotations.csv").decode("utf-8")))
    }
    assert r.headers["x-export-cases"] == str(len(rows))
    return rows, zf, zf.read("README.txt").decode("utf-8")


def _mask(zf: zipfile.ZipFile, case_id: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(zf.read(f"masks/mask_{case_id}.png"))).convert("L"))


async def test_export_takes_the_reviewers_truth(stack: Stack, clinician, reviewer, admin) -> None:
    start = datetime.now(UTC).isoformat()
    ids: dict[str, str] = {}

    async def reviewed(name: str, *reviews: dict[str, Any]) -> None:
        ids[name] = await _done_case(stack, clinician[1], _film(), f"{name}.png")
        for body in reviews:
            await review(stack, reviewer[1], ids[name], **body)

    await reviewed("accepted", {"decision": "accept"})
    await reviewed("no_lesion", {"decision": "edit", "zone_flags": CLEAR})
    await reviewed(
        "reworded",
        {
            "decision": "edit",
            "zone_flags": MODEL_FLAGS,
            "findings_text": "Small opacity, lower zone of the right lung.",
        },
    )
    await reviewed("moved", {"decision": "edit", "zone_flags": MOVED})
    await reviewed(
        "not_outlined",
        {"decision": "edit", "zone_flags": CLEAR, "findings_text": NOT_OUTLINED_SENTENCE},
    )
    await reviewed("free_text", {"decision": "edit", "findings_text": "Normal chest."})
    await reviewed("rejected", {"decision": "reject"})
    await reviewed("accepted_then_rejected", {"decision": "accept"}, {"decision": "reject"})
    await reviewed(
        "rejected_then_cleared", {"decision": "reject"}, {"decision": "edit", "zone_flags": CLEAR}
    )

    rows, zf, readme = await _export(stack, admin[1], start)
    by_name = {name: rows.get(case_id) for name, case_id in ids.items()}
    assert {n for n, row in by_name.items() if row} == {
        "accepted",
        "no_lesion",
        "reworded",
        "rejected_then_cleared",
    }

    # accepted, and edits that keep the model's zones: the model's mask
    for name in ("accepted", "reworded"):
        row = by_name[name]
        assert row is not None and row["mask_source"] == layout.MODEL_MASK
        assert row["zones"] == " ".join(
            "1" if to_image(MODEL_FLAGS)[z] else "0" for z in ZONE_ORDER
        )
        assert _mask(zf, ids[name])[:, :112].all() and not _mask(zf, ids[name])[:, 112:].any()
    # corrected to no lesion (the latest review counts): an empty mask, no zone
    for name in ("no_lesion", "rejected_then_cleared"):
        row = by_name[name]
        assert row is not None and row["mask_source"] == layout.EMPTY_MASK
        assert row["zones"] == "0 0 0 0 0 0" and row["infected_zones"] == "0"
        assert row["description"] == render((False,) * 6)
        mask = _mask(zf, ids[name])
        assert mask.shape == (224, 224) and not mask.any()

    # the README says why each left-out case is out, which cases go in, and the sides
    assert f"{ids['moved']}: {layout.ZONES_MOVED}" in readme
    assert f"{ids['not_outlined']}: {layout.ZONES_MOVED}" in readme
    assert f"{ids['free_text']}: {layout.ZONES_UNKNOWN}" in readme
    assert ids["rejected"] not in readme and "Rejected cases are excluded" in readme
    assert "2 of them signed off as lesion-free (empty mask)" in readme
    assert "EMPTY mask (all zeros)" in readme and "No focal opacity detected." in readme
    assert "IMAGE-SIDE convention" in readme and "the patient's RIGHT" in readme
    assert "standard display" in readme and 'row direction is "R"' in readme


async def test_a_mirrored_film_is_exported_in_standard_display(
    stack: Stack, clinician, reviewer, admin
) -> None:
    """PatientOrientation R\\F: the film is displayed mirrored (the patient's right on the
    image's right); image and mask are flipped so that the zones' image sides hold."""
    start = datetime.now(UTC).isoformat()
    ramp = np.tile(np.linspace(0, 255, SIZE, dtype=np.uint8), (SIZE, 1))
    mirrored = dicom_bytes(make_dicom(ramp, PatientOrientation=["R", "F"]))
    case_id = await _done_case(stack, clinician[1], mirrored, "mirrored.dcm")
    await review(stack, reviewer[1], case_id, decision="accept")
    rows, zf, _ = await _export(stack, admin[1], start)
    assert set(rows) == {case_id}
    image = np.asarray(Image.open(io.BytesIO(zf.read(f"images/{case_id}.png"))).convert("L"))
    assert image[:, :20].mean() > image[:, -20:].mean() + 100  # bright now on the left
    mask = _mask(zf, case_id)
    assert mask[:, 112:].all() and not mask[:, :112].any()  # the stored mask, flipped too


def test_no_lesion_needs_every_zone_clear_and_a_signed_off_review() -> None:
    case = Case(
        id="c",
        owner_id=1,
        original_filename="x.png",
        source_format="png",
        image_key="k",
        content_sha256="0",
        findings_text=NO_LESION_SENTENCE,
        zone_flags=dict(CLEAR),
    )
    user = User(id=1, email="r@example.org", full_name="R", role="reviewer", password_hash="x")

    def outcome(decision: str, **review_fields: Any) -> bool:
        r = Review(id=1, case_id="c", reviewer_id=1, decision=decision, **review_fields)
        return outcome_of(case, r, user).no_lesion

    assert outcome("accept")  # the model said no lesion, and the reviewer agreed
    assert outcome("edit", zone_flags=CLEAR, findings_text=NO_LESION_SENTENCE)
    assert outcome("edit", zone_flags=CLEAR, findings_text="Normal chest.")
    assert not outcome("edit", zone_flags=CLEAR, findings_text=NOT_OUTLINED_SENTENCE)
    assert not outcome("edit", zone_flags=MOVED, findings_text="Upper left opacity.")
    assert not outcome("edit", findings_text="Normal chest.")  # zones unknown
    assert not outcome("reject", zone_flags=CLEAR)  # a rejection signs nothing off
    assert outcome_of(case, None).no_lesion is False
