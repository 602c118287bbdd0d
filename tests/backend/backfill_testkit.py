"""What the `medsegtext deidentify-stored` suites share: a stack with its own database and
bucket (so a run's counts are exact and the rows left broken on purpose reach no other suite),
films stored the way the code before issue 12 stored them, and the command run as operators
run it, in its own process."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import pydicom
from sqlmodel import col, select

from backend.admin.models import AuditEvent
from backend.cases import backfill
from backend.cases.models import Case, new_case_id
from backend.cases.service import CONTENT_TYPES
from backend.platform.db import transaction
from backend.platform.services import Services
from backend.settings import Settings
from inference.decode import decode
from tests.backend.backend_testkit import Stack, running_stack, suite_database_url

ROOT = Path(__file__).resolve().parents[2]
EXTENSIONS = {"dicom": "dcm", "png": "png", "jpeg": "jpg"}


@asynccontextmanager
async def own_stack(
    settings: Settings, tmp_dir: Path, suite: str, bucket: str
) -> AsyncIterator[Stack]:
    """A running API on a database and bucket of its own (on the session's moto server)."""
    # in a thread: on PostgreSQL suite_database_url runs its own event loop (asyncio.run)
    url = await anyio.to_thread.run_sync(suite_database_url, tmp_dir, suite)
    own = settings.model_copy(update={"database_url": url, "s3_bucket": bucket})
    services = await Services.start(own)
    try:
        await services.store.ensure_bucket()
    finally:
        await services.close()
    async with running_stack(own) as s:
        yield s


def _size(data: bytes, fmt: str) -> tuple[int, int]:
    if fmt == "dicom":
        ds = pydicom.dcmread(io.BytesIO(data))
        return int(ds.Columns), int(ds.Rows)
    image = decode(data)  # as upload recorded it: turned as EXIF says
    return image.width, image.height


async def store_the_old_way(
    stack: Stack, owner_id: int, data: bytes, fmt: str = "dicom", *, with_results: bool = True
) -> str:
    """What the code before de-identification and metadata stripping did: the bytes as sent,
    under <case>/original.<ext>, and a row whose checksum is theirs."""
    case_id = new_case_id()
    key = stack.services.store.key(case_id, f"original.{EXTENSIONS[fmt]}")
    await stack.services.store.put(key, data, CONTENT_TYPES[fmt])
    width, height = _size(data, fmt)
    async with transaction(stack.services.sessions) as db:
        db.add(
            Case(
                id=case_id,
                owner_id=owner_id,
                status="queued",
                original_filename=f"image.{EXTENSIONS[fmt]}",
                source_format=fmt,
                content_sha256=hashlib.sha256(data).hexdigest(),
                width=width,
                height=height,
                image_key=key,
            )
        )
    if with_results:
        await stack.finish_case(case_id)  # the worker's mask and overlay, made from the pixels
    return case_id


@dataclass
class Run:
    rc: int
    summary: dict[str, Any]
    stderr: str


async def run_command(settings: Settings, *args: str) -> Run:
    """`medsegtext deidentify-stored` in its own process, configured the way operators do."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "MEDSEGTEXT_S3_ENDPOINT_URL": settings.s3_endpoint_url or "",
        "MEDSEGTEXT_S3_BUCKET": settings.s3_bucket,
        "AWS_REGION": settings.aws_region,
        "MEDSEGTEXT_ENVIRONMENT": "test",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    out = await anyio.to_thread.run_sync(
        lambda: subprocess.run(
            [sys.executable, "-m", "medsegtext.cli", "deidentify-stored", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    )
    assert out.stdout.strip(), out.stderr
    return Run(out.returncode, json.loads(out.stdout), out.stderr)


async def case_objects(stack: Stack, case_id: str) -> dict[str, bytes]:
    store = stack.services.store
    listing = stack.s3().list_objects_v2(Bucket=store.bucket, Prefix=store.key(case_id, ""))
    return {o["Key"]: stack.get_object(o["Key"]) for o in listing.get("Contents", [])}


def keys_under(stack: Stack, prefix: str) -> list[str]:
    listing = stack.s3().list_objects_v2(Bucket=stack.settings.s3_bucket, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


async def audit_actions(stack: Stack, case_id: str) -> list[str]:
    """The backfill's audit events about one case, oldest first."""
    async with stack.services.sessions() as db:
        stmt = select(AuditEvent.action).where(
            AuditEvent.object_id == case_id,
            col(AuditEvent.action).in_([backfill.DEIDENTIFY_STORED, backfill.QUARANTINE]),
        )
        return list((await db.exec(stmt.order_by(col(AuditEvent.id)))).all())


async def row(stack: Stack, case_id: str) -> Case:
    case = await stack.get_case(case_id)
    assert case is not None
    return case
