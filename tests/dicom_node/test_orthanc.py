"""A real PACS pushes a study to the node: Orthanc (Debian's package, `make test-tools`) stores
a frontal film and a lateral view of one study and sends the study to the node as a PACS
routing rule does (REST `POST /modalities/{id}/store`, i.e. C-STORE): one case is made, owned
by the service account, and the model finishes it; the lateral view is refused."""

from __future__ import annotations

from pathlib import Path

from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import (
    NodeProcess,
    identified,
    lateral_of,
    run_worker_until_idle,
)
from tests.dicom_node.orthanc_kit import ORTHANC_AE, Orthanc


async def test_orthanc_pushes_a_study_and_the_frontal_film_becomes_a_done_case(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    samples: Path,
    service_account,
    tmp_path: Path,
) -> None:
    owner_id, _ = service_account
    frontal = identified(samples / "nccid-dx-1024.dcm")
    study = orthanc.put(frontal, tmp_path)["ParentStudy"]
    orthanc.put(lateral_of(frontal), tmp_path)
    cases = await stack.case_count()

    # Permissive: the job goes on past the instance the node refuses, as a routing rule
    # configured for an AI node would
    pushed = orthanc.push_to_node([study])

    assert pushed["InstancesCount"] == 2, pushed
    # the PACS was told why (Orthanc logs a refused instance of a permissive job)
    assert "failed with DIMSE status 0xC001" in orthanc.log.read_text()
    assert await stack.case_count() == cases + 1
    made = node.wait_for_log(
        lambda x: x.get("msg") == "case created from DICOM" and x.get("calling_ae") == ORTHANC_AE
    )
    refused = node.wait_for_log(
        lambda x: x.get("msg") == "instance refused" and x.get("calling_ae") == ORTHANC_AE
    )
    assert refused["status"] == "0xC001" and "lateral" in refused["reason"]
    await run_worker_until_idle(stack)
    case = await stack.get_case(made["case_id"])
    assert case is not None and case.owner_id == owner_id
    assert case.status == "done"
