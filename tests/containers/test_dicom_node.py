"""The DICOM node's container (compose profile "pacs", the API image running
`python -m backend.dicom_node`): healthy, it admits the PACS named in
MEDSEGTEXT_DICOM_CALLING_AETS on its published port 11112, takes a study by C-STORE as a PACS
sends it, and the film becomes a case of its service account that the worker container
analyses, without the patient's identity in what the API shows."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from pynetdicom import AE

from tests.containers.compose_stack import BIND, ComposeStack, wait_done
from tests.dicom_node.dicom_testkit import NODE_AE, SCU_AE, identified

pytestmark = pytest.mark.timeout(1200)
SERVICE_ACCOUNT = "dicom-node@example.org"  # compose's MEDSEGTEXT_DICOM_SERVICE_ACCOUNT default
PASSWORD = "dicom-node-service-pass"


def made_case(stack: ComposeStack, timeout: float = 60) -> str:
    """The id of the case the node logged making (its JSON log, `docker logs`)."""
    deadline = time.monotonic() + timeout
    while True:
        for line in stack.logs("dicom-node").splitlines():
            if '"case created from DICOM"' in line:
                return str(json.loads(line[line.index("{") :])["case_id"])
        assert time.monotonic() < deadline, stack.logs("dicom-node")
        time.sleep(1)


def test_a_study_sent_to_the_dicom_node_container_becomes_a_done_case(
    compose_stack: ComposeStack, shared_data
) -> None:
    stack = compose_stack
    r = httpx.post(
        f"{stack.api_url}/api/admin/users",
        headers=stack.headers("admin"),
        json={"email": SERVICE_ACCOUNT, "password": PASSWORD, "role": "clinician"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    stack.env["COMPOSE_PROFILES"] = "pacs"
    try:
        stack.compose("up", "-d", "--no-build", "dicom-node")
        print(f"DICOM node healthy in {stack.wait_healthy('dicom-node'):.0f} s")

        film = identified(shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm")
        ae = AE(ae_title=SCU_AE)
        ae.add_requested_context(film.SOPClassUID, film.file_meta.TransferSyntaxUID)
        assoc = ae.associate(BIND, 11112, ae_title=NODE_AE)
        assert assoc.is_established, stack.logs("dicom-node")
        try:
            stored = assoc.send_c_store(film)
        finally:
            assoc.release()
        assert stored.Status == 0x0000, stored

        case_id = made_case(stack)
        headers = stack.login(SERVICE_ACCOUNT, PASSWORD)
        with httpx.Client(base_url=stack.api_url, timeout=30) as api:
            case = wait_done(api, case_id, headers, 300)
        assert case["status"] == "done", case
        shown = json.dumps(case)
        for identity in ("DOE", "MRN-778899", "ACC-4242"):  # identified() gave it these
            assert identity not in shown, (identity, case)
    finally:
        stack.compose("rm", "-s", "-f", "dicom-node")
        del stack.env["COMPOSE_PROFILES"]
