"""A real PACS pushes a study to the node: Orthanc (Debian's package, `make test-tools`) stores
a frontal film and a lateral view of one study and sends the study to the node as a PACS
routing rule does (REST `POST /modalities/{id}/store`, i.e. C-STORE): one case is made, owned
by the service account, and the model finishes it; the lateral view is refused."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydicom.dataset import Dataset

from backend.platform.embedded import free_port
from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import (
    NODE_AE,
    NodeProcess,
    identified,
    lateral_of,
    run_worker_until_idle,
)

ORTHANC_AE = "ORTHANC"  # on the node fixture's allowlist


@dataclass
class Orthanc:
    url: str  # the REST API
    log: Path


@pytest.fixture(scope="module")
def orthanc(node: NodeProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """Orthanc with the node configured as a modality."""
    binary = shutil.which("Orthanc")
    if binary is None:
        pytest.skip("Orthanc is not installed (make test-tools installs Debian's orthanc)")
    tmp = tmp_path_factory.mktemp("orthanc")
    http_port = free_port()
    (tmp / "orthanc.json").write_text(json.dumps({
        "Name": "TESTPACS", "StorageDirectory": str(tmp / "db"),
        "IndexDirectory": str(tmp / "db"), "HttpPort": http_port, "DicomPort": free_port(),
        "DicomAet": ORTHANC_AE, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        # release each association at once rather than keep it open 5 s (the default), which
        # would hold one of the node's few association places
        "DicomAssociationCloseDelay": 0,
        "DicomModalities": {"medsegtext": [NODE_AE, "127.0.0.1", node.port]},
    }))
    with open(tmp / "orthanc.log", "wb") as log:
        proc = subprocess.Popen([binary, str(tmp / "orthanc.json")], stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/system", timeout=2).status_code == 200:
                    break
            assert proc.poll() is None, (tmp / "orthanc.log").read_text()
            assert time.monotonic() < deadline, "Orthanc did not answer"
            time.sleep(0.2)
        yield Orthanc(url, tmp / "orthanc.log")
    finally:
        proc.terminate()
        proc.wait(15)


def put(orthanc: Orthanc, ds: Dataset, tmp: Path) -> dict:
    """Store an instance in Orthanc as a modality would have (REST upload)."""
    path = tmp / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    r = httpx.post(f"{orthanc.url}/instances", content=path.read_bytes(), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


async def test_orthanc_pushes_a_study_and_the_frontal_film_becomes_a_done_case(
        orthanc: Orthanc, node: NodeProcess, stack: Stack, samples: Path, service_account,
        tmp_path: Path) -> None:
    owner_id, _ = service_account
    frontal = identified(samples / "nccid-dx-1024.dcm")
    study = put(orthanc, frontal, tmp_path)["ParentStudy"]
    put(orthanc, lateral_of(frontal), tmp_path)
    cases = await stack.case_count()

    # Permissive: the job goes on past the instance the node refuses, as a routing rule
    # configured for an AI node would
    r = httpx.post(f"{orthanc.url}/modalities/medsegtext/store", timeout=60,
                   json={"Resources": [study], "Synchronous": True, "Permissive": True})

    assert r.status_code == 200, r.text
    assert r.json()["InstancesCount"] == 2, r.json()
    # the PACS was told why (Orthanc logs a refused instance of a permissive job)
    assert "failed with DIMSE status 0xC001" in orthanc.log.read_text()
    assert await stack.case_count() == cases + 1
    made = node.wait_for_log(lambda x: x.get("msg") == "case created from DICOM"
                             and x.get("calling_ae") == ORTHANC_AE)
    refused = node.wait_for_log(lambda x: x.get("msg") == "instance refused"
                                and x.get("calling_ae") == ORTHANC_AE)
    assert refused["status"] == "0xC001" and "lateral" in refused["reason"]
    await run_worker_until_idle(stack)
    case = await stack.get_case(made["case_id"])
    assert case is not None and case.owner_id == owner_id
    assert case.status == "done"
