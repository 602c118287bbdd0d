"""Case rules: accept an upload, decide who may see a case, serve its images.

Upload order matters: check the user's upload limits, validate and decode (in a thread),
de-identify, store the file in S3, add the row, check the limits again under the user's lock,
register the job's enqueue for after the commit (backend.platform.unit_of_work), so a job never
sees a missing row and a rolled-back upload gets no job; a failed S3 write leaves no row
behind. Whatever fails once the file may be in S3 (the insert, the audit row, a limit, the
commit, a cancelled request) deletes the file again: no object without a row.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import anyio
import anyio.to_thread
import numpy as np
from PIL import Image
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.enums import SEES_ALL_CASES
from backend.accounts.principal import Principal
from backend.adapters.errors import DependencyUnavailable
from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.cases import limits
from backend.cases import repository as repo
from backend.cases.deidentify import deidentify_dicom
from backend.cases.enums import CaseStatus
from backend.cases.models import Case, new_case_id
from backend.cases.repository import CaseQuery
from backend.cases.strip_metadata import without_metadata
from backend.cases.upload import CaseFields, stored_filename
from backend.errors import Forbidden, Gone, NotFound
from backend.models_registry.service import active_version
from backend.platform.db import utcnow
from backend.platform.logs import get_logger
from backend.platform.services import Services
from backend.platform.unit_of_work import AfterCommit, after_commit
from backend.reviews import repository as reviews_repo
from backend.reviews.outcome import ReviewOutcome, outcome_of
from backend.triage.policy import Triage, TriagePolicy, assess_case, order_by_sql
from inference.decode import decode, sniff_format
from inference.errors import InputError
from inference.image import Limits
from inference.overlay import png_bytes

log = get_logger("cases")

EXTENSIONS = {"png": "png", "jpeg": "jpg", "dicom": "dcm"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "dicom": "application/dicom"}
ARTIFACTS = ("image", "mask", "overlay")
THUMBNAIL_PX = 128  # the longest side of a worklist thumbnail
QUARANTINED = (
    "This case was withdrawn on {date}: its stored film has burned-in annotation "
    "(patient details in the pixels), so the film and everything made from it were "
    "moved to quarantine for a privacy officer to review. It cannot be viewed, "
    "reviewed or downloaded."
)


class Quarantined(Gone):
    """`medsegtext deidentify-stored` moved the case's film to quarantine."""


@dataclass(frozen=True)
class Artifact:
    data: bytes
    content_type: str
    filename: str


def _human(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def _prepare(data: bytes, max_bytes: int) -> tuple[bytes, str, int, int]:
    """Blocking: check the bytes decode as one chest image, de-identify DICOM, strip PNG and
    JPEG metadata. Returns (bytes to store, format, width, height)."""
    fmt = sniff_format(data)
    image = decode(data, Limits(max_bytes=max_bytes))
    if fmt == "dicom":
        data = deidentify_dicom(data)
    else:
        data = without_metadata(data, image, Limits(max_bytes=max_bytes))
    return data, fmt, image.width, image.height


async def create_case(
    db: AsyncSession,
    services: Services,
    ctx: AuditContext,
    user: Principal,
    fields: CaseFields,
    data: bytes,
    priority_reason: str | None = None,
) -> tuple[Case, AfterCommit[bool]]:
    """Store the upload and add its queued case row, whose job is enqueued once the caller
    commits (the second item says whether it was; if the commit fails the caller calls
    discard_upload)."""
    settings = services.settings
    max_bytes = settings.max_upload_bytes
    await limits.enforce(db, settings, user.id, fields.priority)
    if not data:
        raise InputError("empty", "The file is empty (0 bytes).")
    if len(data) > max_bytes:
        raise InputError(
            "too_large", f"The file is {_human(len(data))}; the limit is {_human(max_bytes)}."
        )
    stored, fmt, width, height = await anyio.to_thread.run_sync(_prepare, data, max_bytes)
    case_id = new_case_id()
    key = services.store.key(case_id, f"original.{EXTENSIONS[fmt]}")
    # A PUT the store refused or never answered is not retried as a DELETE: that would wait
    # out the same timeouts again while the client waits for its 503 (a PUT that landed after
    # all is an orphan, logged).
    try:
        await services.store.put(key, stored, CONTENT_TYPES[fmt])
    except DependencyUnavailable:
        log.warning("upload may be left stored", extra={"key": key})
        raise
    except BaseException:  # cancelled mid-PUT: the object may exist
        await discard_stored(services, key)
        raise
    try:
        # The version meant to produce the result: the registry's active one (the worker
        # records the one that did); before the registry has one, the configured model's.
        active = await active_version(db)
        name, version = (
            (active.name, active.version)
            if active is not None
            else (services.manifest.name, services.manifest.version)
        )
        case = repo.add(
            db,
            Case(
                id=case_id,
                owner_id=user.id,
                status=CaseStatus.QUEUED,
                priority=fields.priority,
                priority_reason=priority_reason,
                patient_ref=fields.patient_ref,
                age=fields.age,
                sex=fields.sex,
                acquired_at=fields.acquired_at,
                notes=fields.notes,
                original_filename=stored_filename(fmt),
                source_format=fmt,
                content_sha256=hashlib.sha256(stored).hexdigest(),
                width=width,
                height=height,
                image_key=key,
                model_name=name,
                model_version=version,
                model_version_id=active.id if active is not None else None,
            ),
        )
        audit.record(
            db,
            ctx,
            audit.CASE_UPLOAD,
            "case",
            case_id,
            {
                "format": fmt,
                "bytes": len(stored),
                "width": width,
                "height": height,
                "priority": fields.priority,
                "priority_reason": priority_reason,
            },
        )
        await db.flush()
        await limits.enforce_after_insert(db, settings, user.id, fields.priority, case_id)
    except BaseException:
        await discard_stored(services, key)
        raise
    return case, enqueue_after_commit(db, services, case)


async def discard_stored(services: Services, key: str) -> None:
    """Delete an upload's file whose row will not exist; runs to the end even when the request
    is being cancelled (client gone), and a store that is down only leaves a logged orphan."""
    with anyio.CancelScope(shield=True):
        try:
            await services.store.delete(key)
        except DependencyUnavailable:
            log.warning("could not delete orphan upload", extra={"key": key})


async def discard_upload(services: Services, case: Case) -> None:
    """The row did not commit: remove its file so nothing is left half-made."""
    await discard_stored(services, case.image_key)


def enqueue_after_commit(
    db: AsyncSession, services: Services, case: Case, attempt: int = 0
) -> AfterCommit[bool]:
    """Hand the case to the queue once the session commits; its result is False if Redis was
    down: the case stays queued and is listed, and the worker's sweep (or a later retry) picks
    it up. attempt > 0 re-runs a finished case (a new job id: arq keeps a finished job's id for
    a while)."""
    case_id, version = case.id, case.model_version or ""

    async def enqueue() -> bool:
        try:
            await services.queue.enqueue_inference(case_id, version, attempt)
            return True
        except DependencyUnavailable as e:
            log.warning("case saved but not enqueued", extra={"case_id": case_id, "reason": str(e)})
            return False

    return after_commit(db, enqueue)


async def visible_case(db: AsyncSession, user: Principal, case_id: str) -> Case:
    """The case if this user may see it; another clinician's case is 'not found' (no leak).
    A quarantined case is gone for everyone who could see it (410, saying why): checked here,
    on the row every request reads, so no API process serves it from its artifact cache and
    none needs a restart after a quarantine."""
    case = await repo.get(db, case_id) if len(case_id) <= 64 else None
    if case is None or (user.role not in SEES_ALL_CASES and case.owner_id != user.id):
        raise NotFound(f"No case {case_id}.")
    if case.quarantined_at is not None:
        raise Quarantined(QUARANTINED.format(date=f"{case.quarantined_at:%Y-%m-%d}"))
    return case


async def search(
    db: AsyncSession, user: Principal, query: CaseQuery, policy: TriagePolicy
) -> tuple[list[tuple[Case, Triage, ReviewOutcome | None]], int]:
    """A page of the cases this user may see, each with its triage (scored at one instant) and
    its latest review's outcome (who, and the findings a reader should see)."""
    if user.role not in SEES_ALL_CASES:
        if query.owner_id is not None and query.owner_id != user.id:
            raise Forbidden("Only reviewers and admins can filter by owner.")
        query = CaseQuery(**{**query.__dict__, "owner_id": user.id})
    now = utcnow()
    rows, total = await repo.search(db, query, order_by_sql(policy, now))
    latest = await reviews_repo.latest_for_cases(db, [c.id for c in rows])
    return [
        (c, assess_case(policy, c, now), outcome_of(c, *latest[c.id]) if c.id in latest else None)
        for c in rows
    ], total


def _preview_png(original: bytes) -> bytes:
    """The upload as the model saw it (DICOM windowed, MONOCHROME1 inverted), 8-bit PNG."""
    img = decode(original)
    return png_bytes(np.round(img.pixels * 255).astype(np.uint8))


async def _cached(services: Services, key: str, version: str = "") -> bytes:
    """An artifact's bytes, from the process's cache or S3 (see backend.platform.artifact_cache).
    ``version`` (the upload's content_sha256) is part of the cache key of an object that
    `medsegtext deidentify-stored` may rewrite in place."""
    entry = f"{key}@{version}"
    data = services.artifacts.get(entry)
    if data is None:
        data = await services.store.get(key)
        services.artifacts.put(entry, data)
    return data


async def _preview(services: Services, case: Case) -> bytes:
    key = f"{case.image_key}@{case.content_sha256}#preview.png"
    data = services.artifacts.get(key)
    if data is None:
        original = await _cached(services, case.image_key, case.content_sha256)
        data = await anyio.to_thread.run_sync(_preview_png, original)
        services.artifacts.put(key, data)
    return data


def _thumbnail_png(preview: bytes) -> bytes:
    """The preview scaled down to fit THUMBNAIL_PX (a worklist row loads a few KB, not the
    film's megabytes)."""
    with Image.open(io.BytesIO(preview)) as img:
        img.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.BILINEAR)
        return png_bytes(np.asarray(img.convert("L")))


async def _thumbnail(services: Services, case: Case) -> bytes:
    key = f"{case.image_key}@{case.content_sha256}#thumbnail.png"
    data = services.artifacts.get(key)
    if data is None:
        data = await anyio.to_thread.run_sync(_thumbnail_png, await _preview(services, case))
        services.artifacts.put(key, data)
    return data


async def read_artifact(
    db: AsyncSession,
    services: Services,
    ctx: AuditContext,
    user: Principal,
    case_id: str,
    kind: str,
) -> Artifact:
    case = await visible_case(db, user, case_id)
    key: str | None
    version = ""
    if kind in ("preview", "thumbnail"):
        data = await (_preview if kind == "preview" else _thumbnail)(services, case)
        audit.record(db, ctx, audit.CASE_DOWNLOAD, "case", case.id, {"artifact": kind})
        return Artifact(data, "image/png", f"{case.id}-{kind}.png")
    if kind == "image":
        key, version = case.image_key, case.content_sha256
        content_type = CONTENT_TYPES.get(case.source_format, "application/octet-stream")
        filename = f"{case.id}.{EXTENSIONS.get(case.source_format, 'bin')}"
    else:
        key = case.mask_key if kind == "mask" else case.overlay_key
        content_type, filename = "image/png", f"{case.id}-{kind}.png"
        if not key:
            raise NotFound(f"The {kind} is not available yet (case status: {case.status}).")
    data = await _cached(services, key, version)
    audit.record(db, ctx, audit.CASE_DOWNLOAD, "case", case.id, {"artifact": kind})
    return Artifact(data, content_type, filename)


IMAGE_MISSING = (
    "The stored image of this case is missing from the object store, so it "
    "cannot be shown or reviewed. Restore the object from a backup, or upload the "
    "film again as a new case."
)


class StoredImageMissing(Gone):
    """The case row is here but its uploaded film is not in the object store (e.g.
    lost by an embedded store that kept objects in memory before issue 14)."""


async def image_missing(services: Services, case: Case) -> bool | None:
    """Whether the case's uploaded film is gone from the object store (one HEAD request, asked
    every time: this process's artifact cache may still hold a film the store has lost). None
    while the store is unreachable: the case detail needs only SQL and still answers."""
    if not case.image_key:
        return False
    try:
        return not await services.store.exists(case.image_key)
    except DependencyUnavailable:
        return None


def missing_artifact(kind: str) -> StoredImageMissing:
    """What to answer when a case's stored object is not there: the film, or a result."""
    if kind in ("image", "preview", "thumbnail"):
        return StoredImageMissing(IMAGE_MISSING)
    return StoredImageMissing(
        f"The stored {kind} of this case is missing from the object "
        "store; the film is checked separately (image_missing)."
    )
