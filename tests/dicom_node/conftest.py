"""The DICOM node suite: the backend suite's stack (real SQL, Redis, S3 through moto) and the
node itself, started as its own process (`python -m backend.dicom_node`) against it, as
`make up` and a deployment run it.

The node here allows two calling AE titles, holds at most two associations at once and at most
2 MiB per instance, so the limits are cheap to reach.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend.backend_testkit import Stack, suite_database_url, suite_redis_url

# The backend suite's stack and users; database_url and redis_url are redefined below.
from tests.backend.conftest import moto_url, reviewer, settings, stack
from tests.dicom_node.dicom_testkit import NodeProcess, start_node

__all__ = ["moto_url", "reviewer", "settings", "stack"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return suite_database_url(tmp_path_factory.mktemp("db"), "dicom_node")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with suite_redis_url(tmp_path_factory.mktemp("redis"), 3) as url:
        yield url


@pytest.fixture(scope="session")
async def service_account(stack: Stack) -> tuple[int, str]:
    """The clinician account the node's cases belong to."""
    return await stack.create_user("clinician",
                                   email=f"dicom-node-{uuid.uuid4().hex[:8]}@example.org")


@pytest.fixture(scope="session")
def node(stack: Stack, service_account: tuple[int, str],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with start_node(stack.settings, tmp_path_factory.mktemp("node"), {
        "MEDSEGTEXT_DICOM_SERVICE_ACCOUNT": service_account[1],
        "MEDSEGTEXT_DICOM_CALLING_AETS": "TESTSCU,ORTHANC",
        "MEDSEGTEXT_DICOM_MAX_ASSOCIATIONS": "2",
        "MEDSEGTEXT_DICOM_MAX_INSTANCE_BYTES": str(2 * 2**20),
    }) as proc:
        yield proc


@pytest.fixture(scope="session")
def samples(shared_data: Path) -> Path:
    folder = shared_data / "samples" / "dicom"
    if not (folder / "nccid-dx-1024.dcm").is_file():
        pytest.skip(f"DICOM samples not found in {folder}")
    return folder
