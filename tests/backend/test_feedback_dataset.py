"""The feedback loop: reviewers correct zone flags beside the model's, and admins export the
reviewed cases as a training set that the training code reads and fine-tunes on."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from backend.datasets.layout import split_for
from inference.findings import ZONE_ORDER, render
from inference.sides import PATIENT_ZONES, sentence, to_image
from tests.backend.backend_testkit import Stack
from tests.backend.model_kit import QATA_IMAGES, qata, review, run_model, upload

ROOT = Path(__file__).resolve().parents[2]


async def test_zone_flag_corrections_sit_beside_the_model(
    stack: Stack, clinician, reviewer, shared_data: Path
) -> None:
    case_id = await upload(stack, clinician[1], qata(shared_data, "covid_1001.png"))
    case = await run_model(stack, case_id)
    model_flags = dict(case.zone_flags)
    corrected = {z: z == "patient_left_lower" for z in PATIENT_ZONES}
    url = f"/api/cases/{case_id}/review"

    bad = await stack.client.post(
        url,
        headers=reviewer[1],
        json={"decision": "edit", "zone_flags": {"patient_right_upper": True}},
    )
    assert bad.status_code == 400 and "zone_flags" in bad.text
    image_side = await stack.client.post(
        url, headers=reviewer[1], json={"decision": "edit", "zone_flags": to_image(corrected)}
    )
    assert image_side.status_code == 400  # the image-side keys of old are refused
    extra = await stack.client.post(
        url,
        headers=reviewer[1],
        json={"decision": "edit", "zone_flags": {**corrected, "heart": True}},
    )
    assert extra.status_code == 400
    if corrected != model_flags:
        accept = await stack.client.post(
            url, headers=reviewer[1], json={"decision": "accept", "zone_flags": corrected}
        )
        assert accept.status_code == 400 and "use edit" in accept.json()["detail"]

    out = await review(stack, reviewer[1], case_id, decision="edit", zone_flags=corrected)
    assert out["zone_flags"] == corrected
    assert out["findings_text"] == sentence(corrected)
    assert out["findings_text"].endswith("lower left lung.")
    detail = (await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])).json()
    assert detail["zone_flags"] == model_flags  # the model's output is kept as it was
    assert detail["reviewed_zone_flags"] == corrected
    assert detail["reviewed_findings_text"] == out["findings_text"]
    assert detail["findings_text"] == case.findings_text
    assert detail["reviews"][-1]["zone_flags"] == corrected


async def _reviewed_cases(
    stack: Stack, clinician, reviewer, shared_data: Path
) -> dict[str, tuple[str, dict[str, bool] | None]]:
    """Upload real X-rays until the non-rejected ones fill both splits; review each."""
    plan: dict[str, tuple[str, dict[str, bool] | None]] = {}
    for i, name in enumerate(QATA_IMAGES):
        case_id = await upload(stack, clinician[1], qata(shared_data, name))
        case = await run_model(stack, case_id)
        if i == 0:
            await review(stack, reviewer[1], case_id, decision="reject")
            plan[case_id] = ("rejected", None)
        elif i % 2:
            await review(stack, reviewer[1], case_id, decision="accept")
            plan[case_id] = ("accepted", dict(case.zone_flags))
        elif i % 4 == 2:  # corrected to no lesion: exported with an empty mask
            flags = dict.fromkeys(PATIENT_ZONES, False)
            await review(stack, reviewer[1], case_id, decision="edit", zone_flags=flags)
            plan[case_id] = ("edited", flags)
        else:  # the model's zones in the reviewer's words: exported with the model's mask
            flags = dict(case.zone_flags)
            await review(
                stack,
                reviewer[1],
                case_id,
                decision="edit",
                zone_flags=flags,
                findings_text="reviewer sentence naming upper left lung.",
            )
            plan[case_id] = ("edited", flags)
        splits = {split_for(c) for c, (state, _) in plan.items() if state != "rejected"}
        if i >= 3 and splits == {"train", "valid"}:
            break
    return plan


@pytest.mark.slow
async def test_export_reads_back_and_fine_tunes(
    stack: Stack, clinician, reviewer, admin, shared_data: Path, tmp_path: Path
) -> None:
    start = datetime.now(UTC).isoformat()
    plan = await _reviewed_cases(stack, clinician, reviewer, shared_data)
    assert (
        await stack.client.post("/api/admin/datasets/export", headers=reviewer[1], json={})
    ).status_code == 403

    r = await stack.client.post(
        "/api/admin/datasets/export", headers=admin[1], json={"created_from": start}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    kept = {c: v for c, v in plan.items() if v[0] != "rejected"}
    assert r.headers["x-export-cases"] == str(len(kept))
    folder = tmp_path / "export"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(folder)
    readme = (folder / "README.txt").read_text()
    assert "reviewers did NOT redraw" in readme and "Rejected cases are excluded" in readme
    assert "IMAGE-SIDE convention" in readme and "patient's RIGHT" in readme

    from training.data import load_arrays, read_records

    records = read_records(folder)
    by_case = {rec.image.stem: rec for rec in records}
    assert set(by_case) == set(kept)  # the rejected case is not there
    for case_id, (_state, flags) in kept.items():
        rec = by_case[case_id]
        assert rec.split == split_for(case_id)
        # the export keeps the data set's image sides: the patient's right is the image's left
        assert flags is not None
        zones = tuple(to_image(flags)[z] for z in ZONE_ORDER)
        assert rec.zones == zones
        assert rec.description == render(zones)
    arrays = load_arrays(records)
    assert arrays.images.shape == (len(kept), 224, 224) and arrays.images.dtype == np.uint8
    assert set(np.unique(arrays.masks)) <= {0, 1} and arrays.masks.sum() > 0
    for rec, mask in zip(records, arrays.masks, strict=True):  # no lesion: an empty mask
        flags = kept[rec.image.stem][1]
        assert flags is not None and (mask.sum() == 0) == (not any(flags.values()))
    assert {rec.split for rec in records} == {"train", "valid"}

    events = (
        await stack.client.get("/api/admin/audit?action=dataset.export&limit=1", headers=admin[1])
    ).json()["items"]
    assert events[0]["detail"]["cases"] == len(kept) and events[0]["user_id"] == admin[0]

    torch = pytest.importorskip("torch", reason="fine-tuning needs the training extra (torch)")
    from training.model import SegFindNet

    checkpoint = tmp_path / "init.pt"
    torch.save({"model": SegFindNet().state_dict()}, checkpoint)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "medsegtext",
            "train",
            "--data",
            str(folder),
            "--out",
            str(tmp_path / "run"),
            "--init-from",
            str(checkpoint),
            "--max-steps",
            "1",
            "--batch-size",
            "2",
            "--epochs",
            "1",
            "--threads",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "run" / "best.pt").is_file()


async def test_export_with_nothing_to_export(stack: Stack, admin) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = await stack.client.post(
        "/api/admin/datasets/export", headers=admin[1], json={"created_from": future}
    )
    assert r.status_code == 409 and "nothing to export" in r.json()["detail"]
    bad = await stack.client.post("/api/admin/datasets/export", headers=admin[1], json={"limit": 0})
    assert bad.status_code == 400
