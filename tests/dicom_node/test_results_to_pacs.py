"""Results go back to the PACS (issue 16 item 3): Orthanc pushes a film to the node, the model
finishes the case, a reviewer signs it off through the API, and the worker sends a SEG, an SR
and the overlay (secondary capture) to Orthanc by C-STORE. Orthanc files them in the film's
own study, under the original patient ID, name and accession number, each referencing the
original film; each arrives once. A re-review sends a new version that references the old;
an uploaded case sends nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import NodeProcess, identified, run_worker_until_idle
from tests.dicom_node.orthanc_kit import Orthanc
from tests.dicom_node.results_kit import (
    ENHANCED_SR_CLASS,
    SC_CLASS,
    SEG_CLASS,
    audit_events,
    held_by_pacs,
    iod_errors,
    outbox,
    pacs_case,
    review,
)

IDENTITY = {"PatientID": "MRN-778899", "PatientName": "DOE^JANE", "AccessionNumber": "ACC-4242"}


def _referenced(tags: dict[str, Any], sequence: str, item: str) -> set[str]:
    """The SOP Instance UIDs a study-level reference sequence names (SEG: ReferencedSeries /
    ReferencedInstance; SR: CurrentRequestedProcedureEvidence or PredecessorDocuments /
    ReferencedSeries / ReferencedSOP)."""
    found = set()
    for top in tags.get(sequence, []):
        for series in top.get("ReferencedSeriesSequence", [top]):
            for ref in series.get(item, []):
                found.add(ref["ReferencedSOPInstanceUID"])
    return found


async def test_signed_off_results_file_into_the_films_study_with_the_patients_identity(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    samples: Path,
    reviewer: tuple[int, dict[str, str]],
    tmp_path: Path,
) -> None:
    film = identified(samples / "nccid-dx-1024.dcm")
    case_id = await pacs_case(orthanc, node, stack, film, tmp_path)
    assert held_by_pacs(orthanc, film).keys() == {"film"}  # nothing before review

    await review(stack, reviewer[1], case_id, decision="accept")
    await run_worker_until_idle(stack)  # runs the send job the review queued

    held = held_by_pacs(orthanc, film)
    (seg,), (sr,), (sc,) = held[SEG_CLASS], held[ENHANCED_SR_CLASS], held[SC_CLASS]
    (original,) = held["film"]
    for obj in (seg, sr, sc):
        assert obj["ParentStudy"] == original["ParentStudy"]  # the same study, not a new one
        assert {k: obj[k] for k in IDENTITY} == IDENTITY
        assert obj["StudyInstanceUID"] == film.StudyInstanceUID
        assert obj.get("PatientIdentityRemoved", "NO") != "YES"  # re-identified
    assert _referenced(seg, "ReferencedSeriesSequence", "ReferencedInstanceSequence") == {
        film.SOPInstanceUID
    }
    assert _referenced(
        sr, "CurrentRequestedProcedureEvidenceSequence", "ReferencedSOPSequence"
    ) == {film.SOPInstanceUID}
    assert [s["ReferencedSOPInstanceUID"] for s in sc["SourceImageSequence"]] == [
        film.SOPInstanceUID
    ]
    assert sr["VerificationFlag"] == "VERIFIED" and sr["CompletionFlag"] == "COMPLETE"
    for obj in (seg, sr, sc):  # valid objects of their IODs, as the PACS holds them
        assert iod_errors(orthanc.file(obj["OrthancID"]), tmp_path) == [], obj["SOPClassUID"]
    # each object arrived once, and the outbox says so
    rows = await outbox(stack, case_id)
    assert sorted(r.kind for r in rows) == ["sc", "seg", "sr"]
    assert all(r.status == "sent" and r.attempts == 1 and r.version == 1 for r in rows)
    assert {r.sop_instance_uid for r in rows} == {
        seg["SOPInstanceUID"],
        sr["SOPInstanceUID"],
        sc["SOPInstanceUID"],
    }
    received = orthanc.received()
    assert all(received.count(r.sop_instance_uid) == 1 for r in rows)
    # the sender's read of the identity map and what it sent are in the audit trail
    (read,) = await audit_events(stack, "identity.read", case_id)
    assert read.role == "system" and read.user_id is None
    assert read.detail is not None and read.detail["purpose"] == "send"
    (sent,) = await audit_events(stack, "pacs.send", case_id)
    assert sent.detail is not None
    assert {o["sop_instance_uid"] for o in sent.detail["objects"]} == {
        r.sop_instance_uid for r in rows
    }


async def test_a_re_review_sends_a_new_version_that_references_the_old(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    samples: Path,
    reviewer: tuple[int, dict[str, str]],
    tmp_path: Path,
) -> None:
    film = identified(samples / "nccid-dx-1024.dcm")
    case_id = await pacs_case(orthanc, node, stack, film, tmp_path)
    await review(stack, reviewer[1], case_id, decision="accept")
    await run_worker_until_idle(stack)
    await review(
        stack,
        reviewer[1],
        case_id,
        decision="edit",
        findings_text="Patchy opacity in the patient's right lower zone.",
    )
    await run_worker_until_idle(stack)

    held = held_by_pacs(orthanc, film)
    assert [len(held[c]) for c in (SEG_CLASS, ENHANCED_SR_CLASS, SC_CLASS)] == [2, 2, 2]
    for kind in (SEG_CLASS, ENHANCED_SR_CLASS, SC_CLASS):
        first, second = held[kind]
        assert (first["InstanceNumber"], second["InstanceNumber"]) == ("1", "2")
        assert first["SeriesInstanceUID"] == second["SeriesInstanceUID"]  # one series per kind
        assert first["SOPInstanceUID"] != second["SOPInstanceUID"]
    sr1, sr2 = held[ENHANCED_SR_CLASS]
    assert _referenced(sr2, "PredecessorDocumentsSequence", "ReferencedSOPSequence") == {
        sr1["SOPInstanceUID"]
    }
    assert "right lower zone" in str(sr2["ContentSequence"])

    # a rejection corrects what the PACS holds with a new SR only (no mask is signed off)
    await review(stack, reviewer[1], case_id, decision="reject", comment="Not a lesion.")
    await run_worker_until_idle(stack)
    held = held_by_pacs(orthanc, film)
    assert [len(held[c]) for c in (SEG_CLASS, ENHANCED_SR_CLASS, SC_CLASS)] == [2, 3, 2]
    sr3 = held[ENHANCED_SR_CLASS][2]
    assert sr3["VerificationFlag"] == "UNVERIFIED"
    assert "do not use" in str(sr3["ContentSequence"])
    assert _referenced(sr3, "PredecessorDocumentsSequence", "ReferencedSOPSequence") == {
        sr2["SOPInstanceUID"]
    }
    rows = await outbox(stack, case_id)
    assert [(r.kind, r.version) for r in rows if r.kind == "sr"] == [
        ("sr", 1),
        ("sr", 2),
        ("sr", 3),
    ]
    assert all(r.status == "sent" for r in rows)
    received = orthanc.received()
    assert all(received.count(r.sop_instance_uid) == 1 for r in rows)


async def test_an_uploaded_case_sends_nothing(
    orthanc: Orthanc,
    stack: Stack,
    samples: Path,
    clinician: tuple[int, dict[str, str]],
    reviewer: tuple[int, dict[str, str]],
    admin: tuple[int, dict[str, str]],
    tmp_path: Path,
) -> None:
    """The same identified film uploaded through the API stays de-identified: no identity is
    kept, the sign-off queues nothing and Orthanc receives nothing."""
    film = identified(samples / "nccid-dx-1024.dcm")
    path = tmp_path / "film.dcm"
    film.save_as(path, enforce_file_format=True)
    r = await stack.client.post(
        "/api/cases",
        headers=clinician[1],
        files={"file": ("film.dcm", path.read_bytes(), "application/dicom")},
    )
    assert r.status_code == 202, r.text
    case_id = r.json()["id"]
    await run_worker_until_idle(stack)
    received = orthanc.received()

    await review(stack, reviewer[1], case_id, decision="accept")
    await run_worker_until_idle(stack)

    assert await outbox(stack, case_id) == []
    assert orthanc.received() == received
    assert orthanc.study_instances(str(film.StudyInstanceUID)) == []
    r = await stack.client.get(f"/api/admin/cases/{case_id}/identity", headers=admin[1])
    assert r.status_code == 404, r.text


async def test_an_object_that_cannot_be_built_fails_with_its_reason_and_the_rest_is_sent(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    samples: Path,
    reviewer: tuple[int, dict[str, str]],
    tmp_path: Path,
) -> None:
    """The mask is gone from S3: no SEG can be made (retrying will not bring it back), so its
    row fails with the reason; the SR and the overlay still go."""
    film = identified(samples / "nccid-dx-1024.dcm")
    case_id = await pacs_case(orthanc, node, stack, film, tmp_path)
    case = await stack.get_case(case_id)
    assert case is not None and case.mask_key
    await stack.services.store.delete(case.mask_key)

    await review(stack, reviewer[1], case_id, decision="accept")
    await run_worker_until_idle(stack)

    rows = {r.kind: r for r in await outbox(stack, case_id)}
    assert (rows["seg"].status, rows["seg"].last_error) == (
        "failed",
        "The mask of this case is not stored.",
    )
    assert rows["sr"].status == rows["sc"].status == "sent"
    held = held_by_pacs(orthanc, film)
    assert SEG_CLASS not in held and len(held[ENHANCED_SR_CLASS]) == len(held[SC_CLASS]) == 1
