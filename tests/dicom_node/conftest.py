"""The DICOM node suite: the backend suite's stack (real SQL, Redis, S3 through moto) and the
node itself, started as its own process (`python -m backend.dicom_node`) against it, as
`make up` and a deployment run it.

The node here allows two calling AE titles, holds at most two associations at once and at most
2 MiB per instance, so the limits are cheap to reach. Orthanc (tests/dicom_node/orthanc_kit.py)
is the PACS: it pushes studies to the node and is the destination results go back to, with
short retry waits (1 s doubling to 4 s) so an outage test takes seconds.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.settings import Settings
from tests.backend.backend_testkit import (
    Stack,
    stack_settings,
    suite_database_url,
    suite_redis_url,
)

# The backend suite's stack and users; database_url, redis_url and settings are redefined below.
from tests.backend.conftest import admin, clinician, moto_url, reviewer, stack
from tests.dicom_node.dicom_testkit import NodeProcess, start_node
from tests.dicom_node.orthanc_kit import ORTHANC_AE, Orthanc, OrthancPorts
from tests.shared_data import require

__all__ = ["admin", "clinician", "moto_url", "reviewer", "stack"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return suite_database_url(tmp_path_factory.mktemp("db"), "dicom_node")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with suite_redis_url(tmp_path_factory.mktemp("redis"), 3) as url:
        yield url


@pytest.fixture(scope="session")
def orthanc_ports() -> OrthancPorts:
    return OrthancPorts()


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, moto_url: str, orthanc_ports: OrthancPorts
) -> Settings:
    """The backend suite's settings, with Orthanc as the PACS results go back to."""
    return stack_settings(
        database_url,
        redis_url,
        moto_url,
        pacs_ae_title=ORTHANC_AE,
        pacs_host="127.0.0.1",
        pacs_port=orthanc_ports.dicom,
        pacs_timeout_seconds=5,
        pacs_retry_base_seconds=1.0,
        pacs_retry_cap_seconds=4.0,
    )


@pytest.fixture(scope="session")
async def service_account(stack: Stack) -> tuple[int, str]:
    """The clinician account the node's cases belong to."""
    return await stack.create_user(
        "clinician", email=f"dicom-node-{uuid.uuid4().hex[:8]}@example.org"
    )


@pytest.fixture(scope="session")
def node(
    stack: Stack, service_account: tuple[int, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeProcess]:
    with start_node(
        stack.settings,
        tmp_path_factory.mktemp("node"),
        {
            "MEDSEGTEXT_DICOM_SERVICE_ACCOUNT": service_account[1],
            "MEDSEGTEXT_DICOM_CALLING_AETS": "TESTSCU,ORTHANC",
            "MEDSEGTEXT_DICOM_MAX_ASSOCIATIONS": "2",
            "MEDSEGTEXT_DICOM_MAX_INSTANCE_BYTES": str(2 * 2**20),
        },
    ) as proc:
        yield proc


@pytest.fixture(scope="session")
def samples(shared_data: Path) -> Path:
    folder = shared_data / "samples" / "dicom"
    require(folder / "nccid-dx-1024.dcm", what="the DICOM samples")
    return folder


@pytest.fixture(scope="session")
def orthanc(
    node: NodeProcess, orthanc_ports: OrthancPorts, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Orthanc]:
    """Orthanc with the node configured as a modality, on the session's ports."""
    if shutil.which("Orthanc") is None:
        pytest.skip("Orthanc is not installed (make test-tools installs Debian's orthanc)")
    pacs = Orthanc(orthanc_ports, tmp_path_factory.mktemp("orthanc"), node.port)
    pacs.start()
    try:
        yield pacs
    finally:
        pacs.stop()
