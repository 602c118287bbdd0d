"""Helpers for the DICOM node tests: the node as a process, a pynetdicom SCU, and the
instances sent to it (made from the shared samples)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from arq.worker import create_worker
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    BasicTextSRStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    generate_uid,
)
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from backend.platform.embedded import free_port
from backend.settings import ROOT, Settings
from backend.worker.settings import worker_settings
from tests.backend.backend_testkit import Stack

NODE_AE = "MEDSEGTEXT"
SCU_AE = "TESTSCU"


@dataclass
class NodeProcess:
    """`python -m backend.dicom_node` running against the test stack; its JSON log in a file."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return [x for x in lines if isinstance(x, dict)]

    def wait_for_log(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = [x for x in self.log() if match(x)]
            if found:
                return found[-1]
            assert time.monotonic() < deadline, f"no such log line in {self.log_path}"
            time.sleep(0.05)


def node_env(settings: Settings, port: int, extra: dict[str, str]) -> dict[str, str]:
    """The environment an operator gives the node: the stack's stores, the DICOM settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEGTEXT_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "MEDSEGTEXT_ENVIRONMENT": "test",
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "MEDSEGTEXT_S3_ENDPOINT_URL": settings.s3_endpoint_url or "",
            "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL": settings.dynamodb_endpoint_url or "",
            "MEDSEGTEXT_S3_BUCKET": settings.s3_bucket,
            "MEDSEGTEXT_DYNAMODB_TABLE": settings.dynamodb_table,
            "AWS_REGION": settings.aws_region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "MEDSEGTEXT_DICOM_PORT": str(port),
            "MEDSEGTEXT_DICOM_AE_TITLE": NODE_AE,
        }
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def start_node(settings: Settings, tmp: Path, extra: dict[str, str]) -> Iterator[NodeProcess]:
    """Start the node and wait until it answers C-ECHO; stop it (SIGTERM) afterwards."""
    port = free_port()
    log_path = tmp / "node.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.dicom_node"],
            cwd=ROOT,
            env=node_env(settings, port, extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    node = NodeProcess(proc, port, log_path)
    try:
        deadline = time.monotonic() + 60
        while echo(node) != 0x0000:
            assert proc.poll() is None, f"the node exited: {log_path.read_text()}"
            assert time.monotonic() < deadline, f"the node never answered: {log_path}"
            time.sleep(0.2)
        yield node
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def run_worker_until_idle(stack: Stack, settings: Settings | None = None) -> None:
    """A real arq worker in burst mode (with the stack's settings, or `settings`): runs every
    queued job (the cases' analyses, the sending of results), then returns."""
    worker = create_worker(
        worker_settings(
            settings or stack.settings,
            cron_jobs=[],
            burst=True,
            poll_delay=0.05,
            handle_signals=False,
        )
    )
    try:
        await worker.main()
    finally:
        await worker.close()


# --- the SCU ----------------------------------------------------------------------------------
def associate(
    node: NodeProcess, datasets: list[Dataset] = (), calling: str = SCU_AE, called: str = NODE_AE
) -> Association:
    """An association proposing Verification plus each dataset's class and transfer syntax."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(Verification)
    for ds in datasets:
        ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    return ae.associate("127.0.0.1", node.port, ae_title=called)


def echo(node: NodeProcess, calling: str = SCU_AE) -> int | None:
    """The C-ECHO status, or None when no association could be made."""
    assoc = associate(node, calling=calling)
    if not assoc.is_established:
        return None
    try:
        return int(assoc.send_c_echo().Status)
    finally:
        assoc.release()


def send(node: NodeProcess, datasets: list[Dataset], calling: str = SCU_AE) -> list[Dataset]:
    """C-STORE each dataset on one association; each response's status elements."""
    assoc = associate(node, datasets, calling=calling)
    assert assoc.is_established, "the node refused the association"
    try:
        return [assoc.send_c_store(ds) for ds in datasets]
    finally:
        assoc.release()


# --- what is sent -----------------------------------------------------------------------------
def identified(path: Path) -> Dataset:
    """A sample film carrying a patient's identity and one study, as a PACS holds it."""
    ds = pydicom.dcmread(path)
    ds.PatientName, ds.PatientID, ds.AccessionNumber = "DOE^JANE", "MRN-778899", "ACC-4242"
    ds.PatientSex, ds.PatientAge = "F", "057Y"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def lateral_of(frontal: Dataset) -> Dataset:
    """The same study's lateral view (another series and instance)."""
    ds = deepcopy(frontal)
    ds.ViewPosition = "LL"
    ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def _file_meta(sop_class: str, sop_instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop_class, sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def text_report() -> Dataset:
    """A Basic Text SR: a DICOM object that is not an image."""
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = BasicTextSRStorage, generate_uid()
    ds.Modality, ds.PatientID = "SR", "MRN-778899"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.file_meta = _file_meta(ds.SOPClassUID, ds.SOPInstanceUID)
    return ds


def dx_film(rows: int, cols: int, pixel_bytes: bytes | None = None) -> Dataset:
    """A DX for-presentation film of the given size, 16-bit, MONOCHROME2; `pixel_bytes`
    replaces its pixel data (e.g. cut short)."""
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = DigitalXRayImageStorageForPresentation, generate_uid()
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = "DX", "PA", "CHEST"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID = "DOE^JANE", "MRN-778899"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if pixel_bytes is None:
        rng = np.random.default_rng(0)
        pixel_bytes = rng.integers(0, 4096, (rows, cols), dtype=np.uint16).tobytes()
    ds.PixelData = pixel_bytes
    ds.file_meta = _file_meta(ds.SOPClassUID, ds.SOPInstanceUID)
    return ds
