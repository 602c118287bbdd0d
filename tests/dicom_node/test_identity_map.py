"""The identity map of a PACS case (issue 16 item 3): the node keeps the original identifiers
sealed, apart from the de-identified case; only an admin reads them through the API, and every
read is audited (the sender's reads: tests/dicom_node/test_results_to_pacs.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import NodeProcess, identified
from tests.dicom_node.orthanc_kit import ORTHANC_AE, Orthanc
from tests.dicom_node.results_kit import audit_events, pacs_case


async def test_only_an_admin_reads_a_pacs_cases_identity_and_every_read_is_audited(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    samples: Path,
    clinician: tuple[int, dict[str, str]],
    reviewer: tuple[int, dict[str, str]],
    admin: tuple[int, dict[str, str]],
    tmp_path: Path,
) -> None:
    film = identified(samples / "nccid-dx-1024.dcm")
    case_id = await pacs_case(orthanc, node, stack, film, tmp_path)
    path = f"/api/admin/cases/{case_id}/identity"

    assert (await stack.client.get(path)).status_code == 401
    for role, (_, headers) in (("clinician", clinician), ("reviewer", reviewer)):
        r = await stack.client.get(path, headers=headers)
        assert r.status_code == 403, (role, r.text)
    assert await audit_events(stack, "identity.read", case_id) == []  # refused: no read

    for _ in range(2):
        r = await stack.client.get(path, headers=admin[1])
        assert r.status_code == 200, r.text
    got = r.json()
    assert {
        k: got[k]
        for k in (
            "patient_id",
            "patient_name",
            "accession_number",
            "patient_sex",
            "study_uid",
            "series_uid",
            "sop_instance_uid",
            "calling_ae",
        )
    } == {
        "patient_id": "MRN-778899",
        "patient_name": "DOE^JANE",
        "accession_number": "ACC-4242",
        "patient_sex": "F",
        "study_uid": film.StudyInstanceUID,
        "series_uid": film.SeriesInstanceUID,
        "sop_instance_uid": film.SOPInstanceUID,
        "calling_ae": ORTHANC_AE,
    }
    reads = await audit_events(stack, "identity.read", case_id)
    assert [(e.user_id, e.role, (e.detail or {}).get("purpose")) for e in reads] == [
        (admin[0], "admin", "admin")
    ] * 2  # each read, not one per look


async def test_the_identity_is_sealed_and_the_case_stays_de_identified(
    orthanc: Orthanc, node: NodeProcess, stack: Stack, samples: Path, tmp_path: Path
) -> None:
    film = identified(samples / "nccid-dx-1024.dcm")
    case_id = await pacs_case(orthanc, node, stack, film, tmp_path)

    async with stack.services.engine.connect() as conn:
        sealed = (
            await conn.execute(
                text("SELECT sealed FROM case_identities WHERE case_id = :id"), {"id": case_id}
            )
        ).scalar()
        case_row = (
            await conn.execute(text("SELECT * FROM cases WHERE id = :id"), {"id": case_id})
        ).one()
    assert sealed
    secrets = ["MRN-778899", "DOE", "ACC-4242", film.StudyInstanceUID, film.SOPInstanceUID]
    assert [s for s in secrets if s.encode() in bytes(sealed)] == []
    assert [s for s in secrets if s in repr(tuple(case_row))] == []
    case = await stack.get_case(case_id)
    assert case is not None
    stored = stack.get_object(case.image_key)
    assert [s for s in secrets if s.encode() in stored] == []
