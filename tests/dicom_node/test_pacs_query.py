"""Query and import from the portal (issue 16 item 2), against Orthanc: a reviewer searches the
PACS by patient ID, accession number or date (C-FIND), sees the study, and imports it (C-MOVE
to the node's AE title): Orthanc sends the study to the node, the frontal film becomes a case
and the lateral view is refused. The PACS down is a 503 naming it; bad input a 400; a
clinician a 403."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from pydicom.uid import generate_uid
from sqlmodel import col, select

from backend.admin.models import AuditEvent
from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import NodeProcess, identified, lateral_of
from tests.dicom_node.orthanc_kit import ORTHANC_AE, Orthanc


async def _search(stack: Stack, headers: dict[str, str], **params: str) -> Any:
    return await stack.client.get("/api/pacs/studies", headers=headers, params=params)


async def _events(stack: Stack, action: str, request_ids: set[str]) -> list[AuditEvent]:
    async with stack.services.sessions() as db:
        stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        return [e for e in (await db.exec(stmt)).all() if e.request_id in request_ids]


async def test_a_reviewer_finds_a_study_and_imports_it_through_the_node(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    samples: Path,
    reviewer: tuple[int, dict[str, str]],
    tmp_path: Path,
) -> None:
    headers = reviewer[1]
    film = identified(samples / "nccid-dx-1024.dcm")
    film.PatientID, film.AccessionNumber = f"MRN-{uuid.uuid4().hex[:8]}", "ACC-Q-1"
    film.StudyDate, film.StudyDescription = "20261120", "CHEST PA"
    orthanc.put(film, tmp_path)
    orthanc.put(lateral_of(film), tmp_path)

    by_patient = await _search(stack, headers, patient_id=film.PatientID)
    assert by_patient.status_code == 200, by_patient.text
    body = by_patient.json()
    assert body["more"] is False
    (study,) = body["studies"]
    assert study == {
        "study_instance_uid": film.StudyInstanceUID,
        "patient_id": film.PatientID,
        "accession_number": "ACC-Q-1",
        "study_date": "2026-11-20",
        "study_description": "CHEST PA",
        "modalities": [film.Modality],
        "instances": 2,
    }
    by_accession = (await _search(stack, headers, accession_number="ACC-Q-1")).json()
    assert film.StudyInstanceUID in {s["study_instance_uid"] for s in by_accession["studies"]}
    in_range = (await _search(stack, headers, date_from="2026-11-19", date_to="2026-11-20")).json()
    assert film.StudyInstanceUID in {s["study_instance_uid"] for s in in_range["studies"]}
    out_of_range = (await _search(stack, headers, date_from="2026-11-21")).json()
    assert film.StudyInstanceUID not in {s["study_instance_uid"] for s in out_of_range["studies"]}

    cases = await stack.case_count()
    made_before = sum(1 for x in node.log() if x.get("msg") == "case created from DICOM")
    r = await stack.client.post(
        "/api/pacs/imports", headers=headers, json={"study_instance_uid": film.StudyInstanceUID}
    )
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("cases", "not_stored", "skipped", "failures")} == {
        "cases": 1,
        "not_stored": 1,
        "skipped": 0,
        "failures": ["0xC000"],
    }
    assert "in the worklist" in r.json()["detail"]
    # the case is made by the node, from Orthanc's C-STORE, as a routed study's would be
    assert await stack.case_count() == cases + 1
    made = [x for x in node.log() if x.get("msg") == "case created from DICOM"][made_before:]
    assert [x["calling_ae"] for x in made] == [ORTHANC_AE]

    # audited without the patient's identifiers
    searched = await _events(stack, "pacs.query", {by_patient.headers["x-request-id"]})
    assert [e.detail for e in searched] == [{"by": ["patient_id"], "found": 1, "more": False}]
    (imported,) = await _events(stack, "pacs.import", {r.headers["x-request-id"]})
    assert imported.user_id == reviewer[0] and imported.object_type == "pacs_study"
    assert imported.object_id == hashlib.sha256(film.StudyInstanceUID.encode()).hexdigest()[:32]
    assert imported.detail == {"stored": 1, "not_stored": 1, "skipped": 0, "failures": ["0xC000"]}
    assert film.PatientID not in str(searched[0].detail) + str(imported.detail)


async def test_a_study_the_pacs_does_not_hold_imports_nothing(
    orthanc: Orthanc, node: NodeProcess, stack: Stack, reviewer: tuple[int, dict[str, str]]
) -> None:
    cases = await stack.case_count()
    r = await stack.client.post(
        "/api/pacs/imports", headers=reviewer[1], json={"study_instance_uid": generate_uid()}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["cases"], r.json()["not_stored"]) == (0, 0)
    assert "no radiograph" in r.json()["detail"]
    assert await stack.case_count() == cases


async def test_search_input_is_checked_and_only_reviewers_and_admins_search(
    orthanc: Orthanc,
    stack: Stack,
    reviewer: tuple[int, dict[str, str]],
    clinician: tuple[int, dict[str, str]],
) -> None:
    for params in (
        {},
        {"patient_id": "  "},
        {"patient_id": "DOE*"},
        {"accession_number": "A" * 17},
        {"date_from": "2026-11-21", "date_to": "2026-11-20"},
        {"date_from": "yesterday"},
    ):
        r = await _search(stack, reviewer[1], **params)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["detail"]
    for uid in ("", "1.2.x", "1." + "2" * 70, "1..2"):
        r = await stack.client.post(
            "/api/pacs/imports", headers=reviewer[1], json={"study_instance_uid": uid}
        )
        assert r.status_code == 400, (uid, r.text)
    r = await _search(stack, clinician[1], patient_id="MRN-1")
    assert r.status_code == 403
    r = await stack.client.post(
        "/api/pacs/imports", headers=clinician[1], json={"study_instance_uid": generate_uid()}
    )
    assert r.status_code == 403


async def test_the_pacs_down_is_a_503_naming_it(
    orthanc: Orthanc, stack: Stack, reviewer: tuple[int, dict[str, str]]
) -> None:
    orthanc.stop()
    try:
        r = await _search(stack, reviewer[1], patient_id="MRN-1")
        assert r.status_code == 503, r.text
        assert r.json()["dependency"] == "pacs" and r.headers["retry-after"]
        r = await stack.client.post(
            "/api/pacs/imports", headers=reviewer[1], json={"study_instance_uid": generate_uid()}
        )
        assert r.status_code == 503 and r.json()["dependency"] == "pacs", r.text
    finally:
        orthanc.start()
