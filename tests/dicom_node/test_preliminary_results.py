"""pacs_send_preliminary (off by default): the model's result goes to the PACS when the model
finishes, as an unverified SR ("awaiting review") with the SEG and overlay; the sign-off then
sends the reviewed version, which replaces it."""

from __future__ import annotations

from pathlib import Path

from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import NodeProcess, identified, run_worker_until_idle
from tests.dicom_node.orthanc_kit import Orthanc
from tests.dicom_node.results_kit import (
    ENHANCED_SR_CLASS,
    SC_CLASS,
    SEG_CLASS,
    held_by_pacs,
    outbox,
    pacs_case,
    review,
)


async def test_the_models_result_goes_first_and_the_sign_off_replaces_it(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    samples: Path,
    reviewer: tuple[int, dict[str, str]],
    tmp_path: Path,
) -> None:
    preliminary = stack.settings.model_copy(update={"pacs_send_preliminary": True})
    film = identified(samples / "nccid-dx-1024.dcm")
    case_id = await pacs_case(orthanc, node, stack, film, tmp_path, preliminary)

    held = held_by_pacs(orthanc, film)
    assert [len(held.get(c, [])) for c in (SEG_CLASS, ENHANCED_SR_CLASS, SC_CLASS)] == [1, 1, 1]
    (sr1,) = held[ENHANCED_SR_CLASS]
    assert sr1["VerificationFlag"] == "UNVERIFIED"
    assert "awaiting review" in str(sr1["ContentSequence"])
    assert [r.review_id for r in await outbox(stack, case_id)] == [None] * 3

    await review(stack, reviewer[1], case_id, decision="accept")
    await run_worker_until_idle(stack, preliminary)  # the model is not run again: nothing new

    held = held_by_pacs(orthanc, film)
    assert [len(held[c]) for c in (SEG_CLASS, ENHANCED_SR_CLASS, SC_CLASS)] == [2, 2, 2]
    sr2 = held[ENHANCED_SR_CLASS][1]
    assert sr2["VerificationFlag"] == "VERIFIED"
    assert (
        sr2["PredecessorDocumentsSequence"][0]["ReferencedSeriesSequence"][0][
            "ReferencedSOPSequence"
        ][0]["ReferencedSOPInstanceUID"]
        == sr1["SOPInstanceUID"]
    )
    rows = await outbox(stack, case_id)
    assert [(r.version, r.status) for r in rows] == [(1, "sent")] * 3 + [(2, "sent")] * 3
