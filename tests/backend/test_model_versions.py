"""Model versions: the shipped model registered active on start, registration by path and by
upload (sha256 checked), exactly one active, shadow and retire, the version each case records,
and agreement with the reviewers (shown results and shadow predictions)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.adapters.predictions import PredictionRecord
from backend.models_registry import service
from backend.models_registry.agreement import zone_f1
from backend.models_registry.models import ModelVersion
from backend.platform.db import transaction
from backend.platform.services import Services
from inference.model_files import DEFAULT_MODEL
from inference.pipeline import Predictor
from inference.result import PredictionSummary
from inference.sides import PATIENT_ZONES
from tests.backend.backend_testkit import Stack, png_bytes
from tests.backend.model_kit import qata, review, run_model, upload

SHIPPED_MANIFEST = json.loads(
    DEFAULT_MODEL.with_name(DEFAULT_MODEL.stem + ".manifest.json").read_text()
)


def _manifest(version: str, **changes: Any) -> bytes:
    return json.dumps({**SHIPPED_MANIFEST, "version": version, **changes}).encode()


def _files(version: str, **changes: Any) -> dict[str, Any]:
    return {
        "onnx": ("m.onnx", DEFAULT_MODEL.read_bytes(), "application/octet-stream"),
        "manifest": ("m.manifest.json", _manifest(version, **changes), "application/json"),
    }


async def _models(stack: Stack, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    r = await stack.client.get("/api/admin/models", headers=headers)
    assert r.status_code == 200, r.text
    return {m["version"]: m for m in r.json()}


@pytest.fixture
async def restore_active(stack: Stack) -> AsyncIterator[None]:
    """Other tests expect the shipped model to be active: put it back afterwards."""
    yield
    async with transaction(stack.services.sessions) as db:
        await service.activate(db, None, (await service.ensure_shipped_model(db, stack.settings)))


async def test_shipped_model_is_active_after_start(stack: Stack, admin) -> None:
    models = await _models(stack, admin[1])
    shipped = models[SHIPPED_MANIFEST["version"]]
    assert shipped["status"] == "active" and shipped["sha256"] == SHIPPED_MANIFEST["sha256"]
    assert shipped["onnx_path"] == str(DEFAULT_MODEL)
    assert shipped["manifest"]["metrics"]["valid"]["dice_accumulated"] > 0.8
    again = await service.register_shipped_model(stack.services)  # idempotent
    assert again.id == shipped["id"]
    assert [
        m["version"] for m in (await _models(stack, admin[1])).values() if m["status"] == "active"
    ] == [SHIPPED_MANIFEST["version"]]


async def test_register_activate_shadow_retire(
    stack: Stack, admin, clinician, reviewer, tmp_path: Path, restore_active
) -> None:
    url = "/api/admin/models"
    assert (await stack.client.get(url, headers=reviewer[1])).status_code == 403
    wrong = await stack.client.post(
        f"{url}/upload", headers=admin[1], files=_files("9.9.9-bad", sha256="0" * 64)
    )
    assert wrong.status_code == 400 and "does not match" in wrong.json()["detail"]
    junk = await stack.client.post(
        f"{url}/upload",
        headers=admin[1],
        files={**_files("x"), "manifest": ("m.json", b"{not json", "application/json")},
    )
    assert junk.status_code == 400 and "JSON" in junk.json()["detail"]
    bad_version = await stack.client.post(f"{url}/upload", headers=admin[1], files=_files("../etc"))
    assert bad_version.status_code == 400 and "version" in bad_version.json()["detail"]

    uploaded = await stack.client.post(
        f"{url}/upload", headers=admin[1], files=_files("1.1.0-upload")
    )
    assert uploaded.status_code == 201, uploaded.text
    up = uploaded.json()
    assert up["status"] == "registered" and up["onnx_key"] == "models/1.1.0-upload/model.onnx"
    assert stack.get_object(up["onnx_key"]) == DEFAULT_MODEL.read_bytes()
    dup = await stack.client.post(f"{url}/upload", headers=admin[1], files=_files("1.1.0-upload"))
    assert dup.status_code == 409 and "already registered" in dup.json()["detail"]

    onnx = tmp_path / "candidate.onnx"
    shutil.copyfile(DEFAULT_MODEL, onnx)
    (tmp_path / "candidate.manifest.json").write_bytes(_manifest("1.2.0-path"))
    relative = await stack.client.post(url, headers=admin[1], json={"path": "candidate.onnx"})
    assert relative.status_code == 400 and "absolute" in relative.json()["detail"]
    missing = await stack.client.post(
        url, headers=admin[1], json={"path": str(tmp_path / "nope.onnx")}
    )
    assert missing.status_code == 400
    by_path = await stack.client.post(url, headers=admin[1], json={"path": str(onnx)})
    assert by_path.status_code == 201, by_path.text
    path_id = by_path.json()["id"]

    activated = await stack.client.post(f"{url}/{up['id']}/activate", headers=admin[1])
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    assert activated.json()["activated_by"] == admin[0]
    models = await _models(stack, admin[1])
    assert [v for v, m in models.items() if m["status"] == "active"] == ["1.1.0-upload"]
    assert models[SHIPPED_MANIFEST["version"]]["status"] == "registered"

    case_id = await upload(stack, clinician[1], png_bytes())
    case = (await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])).json()
    assert case["model_version"] == "1.1.0-upload" and case["model_version_id"] == up["id"]

    assert (
        await stack.client.post(f"{url}/{up['id']}/shadow", headers=admin[1])
    ).status_code == 409
    shadow = await stack.client.post(f"{url}/{path_id}/shadow", headers=admin[1])
    assert shadow.status_code == 200 and shadow.json()["status"] == "shadow"
    async with stack.services.sessions() as db:
        assert [m.version for m in await service.shadow_versions(db)] == ["1.2.0-path"]
        assert (await service.active_version(db)).version == "1.1.0-upload"  # type: ignore[union-attr]
    retired = await stack.client.post(f"{url}/{path_id}/retire", headers=admin[1])
    assert retired.json()["status"] == "retired"
    assert (await stack.client.post(f"{url}/999999/activate", headers=admin[1])).status_code == 404

    events = (
        await stack.client.get("/api/admin/audit?object_type=model&limit=20", headers=admin[1])
    ).json()["items"]
    actions = [(e["action"], e["detail"]["version"]) for e in events if e["user_id"] == admin[0]]
    for expected in [
        ("model.retire", "1.2.0-path"),
        ("model.shadow", "1.2.0-path"),
        ("model.activate", "1.1.0-upload"),
        ("model.register", "1.2.0-path"),
        ("model.register", "1.1.0-upload"),
    ]:
        assert expected in actions


async def test_database_allows_one_active(stack: Stack) -> None:
    async with stack.services.sessions() as db:
        inactive = (
            await db.exec(select(ModelVersion).where(ModelVersion.status != "active"))
        ).first()
    if inactive is None:
        async with transaction(stack.services.sessions) as db:
            inactive = ModelVersion(
                name="x", version="0.0.1-extra", sha256="0" * 64, onnx_path="/nowhere.onnx"
            )
            db.add(inactive)
    with pytest.raises(IntegrityError):
        async with transaction(stack.services.sessions) as db:
            row = await db.get(ModelVersion, inactive.id)
            assert row is not None
            row.status = "active"
            db.add(row)


async def test_uploaded_model_is_fetched_for_the_worker(
    stack: Stack, admin, tmp_path: Path
) -> None:
    r = await stack.client.post(
        "/api/admin/models/upload", headers=admin[1], files=_files("1.3.0-fetch")
    )
    assert r.status_code == 201
    services = await Services.start(
        stack.settings.model_copy(update={"model_cache_dir": str(tmp_path)})
    )
    try:
        async with services.sessions() as db:
            mv = await db.get(ModelVersion, r.json()["id"])
        assert mv is not None
        path = await service.local_model_path(services, mv)
        assert path == tmp_path / "1.3.0-fetch" / "model.onnx"
        assert Predictor(path, device="cpu").manifest.version == "1.3.0-fetch"
        path.write_bytes(b"corrupted")
        assert (
            await service.local_model_path(services, mv)
        ).read_bytes() == DEFAULT_MODEL.read_bytes()  # a damaged cache is fetched again
    finally:
        await services.close()


def test_zone_f1() -> None:
    on = dict.fromkeys(PATIENT_ZONES, True)
    off = dict.fromkeys(PATIENT_ZONES, False)
    assert zone_f1([]) is None
    assert zone_f1([(on, on)]) == 1.0 and zone_f1([(off, off)]) == 1.0
    assert zone_f1([(on, off)]) == 0.0
    half = {z: i < 3 for i, z in enumerate(PATIENT_ZONES)}
    assert zone_f1([(on, half)]) == pytest.approx(2 * 3 / (2 * 3 + 3))


async def test_agreement_of_shown_and_shadow_results(
    stack: Stack, clinician, reviewer, admin, shared_data: Path
) -> None:
    accepted = await upload(stack, clinician[1], qata(shared_data, "covid_1007.png"))
    edited = await upload(stack, clinician[1], qata(shared_data, "covid_1008.png"))
    a, e = await run_model(stack, accepted), await run_model(stack, edited)
    await review(stack, reviewer[1], accepted, decision="accept")
    flipped = {z: not e.zone_flags[z] for z in PATIENT_ZONES}
    await review(stack, reviewer[1], edited, decision="edit", zone_flags=flipped)

    stats = (await stack.client.get("/api/admin/stats", headers=admin[1])).json()
    shown = {m["version"]: m for m in stats["model_agreement"]}[SHIPPED_MANIFEST["version"]]
    assert shown["model_version_id"] is not None and shown["shown_cases"] >= 2
    assert 0 < shown["accepted_unedited_share"] < 1 and 0 <= shown["zone_f1"] <= 1

    r = await stack.client.post(
        "/api/admin/models/upload", headers=admin[1], files=_files("2.0.0-shadow")
    )
    shadow_id = r.json()["id"]
    await stack.client.post(f"/api/admin/models/{shadow_id}/shadow", headers=admin[1])
    # the worker's shadow run stores its prediction under its own version (never shown)
    for case, flags in ((a, a.zone_flags or {}), (e, flipped)):
        summary = PredictionSummary(
            width=case.width or 0,
            height=case.height or 0,
            source_format=case.source_format,
            findings_text=case.findings_text,
            zone_flags=flags,
            zone_probabilities=case.zone_probabilities or {},
            laterality=case.laterality,
            lesion_burden_percent=case.lesion_burden_percent,
            model={"name": "medsegtext-segfind", "version": "2.0.0-shadow"},
        )
        await stack.services.predictions.put(
            PredictionRecord(case.id, "2.0.0-shadow", summary, shadow=True)
        )
    agreement = (
        await stack.client.get(f"/api/admin/models/{shadow_id}/agreement", headers=admin[1])
    ).json()
    assert agreement["shadow_cases"] == 2 and agreement["shown_cases"] == 0
    assert agreement["accepted_unedited_share"] is None  # never put to a reviewer
    assert agreement["zone_f1"] == 1.0 and agreement["exact_zone_match_share"] == 1.0
    await stack.client.post(f"/api/admin/models/{shadow_id}/retire", headers=admin[1])
