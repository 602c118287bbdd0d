"""Helpers for the results-to-PACS tests: a film from Orthanc made a done case, reviews through
the API, the outbox rows and the audit events the send left, what Orthanc holds of a study."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from sqlmodel import col, select

from backend.admin.models import AuditEvent
from backend.pacs_outbox.models import OutboxItem
from backend.settings import Settings
from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import NodeProcess, run_worker_until_idle
from tests.dicom_node.orthanc_kit import Orthanc

SEG_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
ENHANCED_SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.22"
SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"


def _cases_made(node: NodeProcess) -> list[dict[str, Any]]:
    return [x for x in node.log() if x.get("msg") == "case created from DICOM"]


async def pacs_case(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    film: Dataset,
    tmp: Path,
    worker_settings: Settings | None = None,
) -> str:
    """Orthanc holds the film and pushes it to the node (as a routing rule does); the worker
    (with the stack's settings, or `worker_settings`) analyses it. Returns the done case's
    id."""
    made_before = len(_cases_made(node))
    pushed = orthanc.push_to_node([orthanc.put(film, tmp)["ID"]])
    assert pushed["InstancesCount"] == 1, pushed
    # the node logs no original identifier with the case it made (that link is the identity
    # map's alone): the tests push one film at a time, so the case is the next one logged
    deadline = time.monotonic() + 10
    while len(made := _cases_made(node)) <= made_before:
        assert time.monotonic() < deadline, "the node made no case"
        time.sleep(0.05)
    case_id = str(made[made_before]["case_id"])
    await run_worker_until_idle(stack, worker_settings)
    case = await stack.get_case(case_id)
    assert case is not None and case.status == "done", case
    return case_id


async def review(
    stack: Stack, headers: dict[str, str], case_id: str, **body: Any
) -> dict[str, Any]:
    r = await stack.client.post(f"/api/cases/{case_id}/review", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def outbox(stack: Stack, case_id: str) -> list[OutboxItem]:
    async with stack.services.sessions() as db:
        stmt = select(OutboxItem).where(OutboxItem.case_id == case_id).order_by(col(OutboxItem.id))
        return list((await db.exec(stmt)).all())


async def audit_events(stack: Stack, action: str, case_id: str) -> list[AuditEvent]:
    async with stack.services.sessions() as db:
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.object_id == case_id)
            .order_by(col(AuditEvent.id))
        )
        return list((await db.exec(stmt)).all())


def iod_errors(data: bytes, tmp: Path) -> list[str]:
    """dciodvfy's errors for a DICOM file (its checks of the IOD: modules, types, values)."""
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy not found: install the Debian package dicom3tools")
    path = tmp / "object.dcm"
    path.write_bytes(data)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


def held_by_pacs(orthanc: Orthanc, film: Dataset) -> dict[str, list[dict[str, Any]]]:
    """What Orthanc files under the film's study: the film under "film", the rest by SOP class
    (the sample film is itself a secondary capture), each instance's full header plus its
    Orthanc study ("ParentStudy") and id ("OrthancID"), in InstanceNumber order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for found in orthanc.study_instances(str(film.StudyInstanceUID)):
        tags = orthanc.tags(found["ID"])
        tags["ParentStudy"] = orthanc.series_of(found["ID"])["ParentStudy"]
        tags["OrthancID"] = found["ID"]
        key = "film" if tags["SOPInstanceUID"] == film.SOPInstanceUID else tags["SOPClassUID"]
        out.setdefault(key, []).append(tags)
    for instances in out.values():
        instances.sort(key=lambda t: int(t.get("InstanceNumber") or 0))
    return out
