"""`medsegtext deidentify-stored`: bring every stored film up to today's de-identification
(issue 12), rewriting each object in place (same S3 key).

Films uploaded before it still hold PHI in S3, served as is by GET /api/cases/{id}/image:
DICOM stored before the PS3.15 allow-list (backend.cases.deidentify) keeps descriptions,
overlays, private tags, the sender's file meta and original UIDs; PNG and JPEG stored before
metadata stripping (backend.cases.strip_metadata) keep text chunks, EXIF, XMP, IPTC, ICC
profiles, comments and appended images. Run this once after upgrading; it is idempotent and
resumable.

Per case, in id order, each in its own unit of work (backend.cases.backfill_plan decides):
- done (the file is what the current code stores): nothing is written; if the row's
  content_sha256 disagrees with the file (a run that stopped between the two writes below), the
  row is repaired;
- rewrite: the new file is written to the same key first, then the row's content_sha256 is
  updated with an audit event ``case.deidentify_stored``. S3 replaces an object atomically, so
  a stop anywhere leaves the old file with its row, or the new file, which the next run sees as
  done and whose checksum it then writes to the row. The pixels are kept (DICOM pixel data byte
  for byte; PNG/JPEG image data copied, every decoded pixel checked), so width, height, masks
  and overlays stay valid; updated_at is left alone (the film's content did not change for the
  worklist's purposes). Running API processes serve the new file as soon as the row changes:
  their artifact cache is keyed by content_sha256;
- burned_in (DICOM BurnedInAnnotation YES): the header could be cleaned, but the pixels carry
  the patient's name or dates and so do the worker's overlays made from them. Such a film is
  never re-marked as de-identified. The row is withdrawn first (``quarantined_at``, and
  ``error`` says why): from that commit on every API process answers 410 for the case, its
  images, reports and reviews, whatever its cache holds. Then every object of the case is moved
  under ``<prefix>quarantine/<case id>/`` (copied, read back and compared, then deleted) and an
  audit event ``case.quarantine`` names the case. A privacy officer decides what happens to the
  quarantined copy.
- anything else (unreadable, missing object, a store outage, a PNG/JPEG whose picture would
  change without its metadata) is listed under "failed" with the reason and left as it is;
  re-running retries it.

Operators: with --dry-run nothing is written. No API restart is needed after a run. If the
bucket keeps object versions, the old versions still hold the PHI: delete the noncurrent
versions of ``<prefix>*/original.*`` (and of the quarantined cases' objects) once the run
reports no failures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.adapters.errors import DependencyUnavailable, ObjectMissing
from backend.adapters.storage import ObjectStore
from backend.admin import audit
from backend.cases.backfill_plan import Unfit, plan
from backend.cases.deidentify import IMPLEMENTATION_VERSION
from backend.cases.service import CONTENT_TYPES
from backend.platform.db import make_engine, make_sessionmaker, transaction, utcnow
from backend.platform.logs import get_logger
from backend.settings import Settings
from backend.tables import AuditEvent, Case  # every table, so foreign keys resolve outside the API

log = get_logger("cases.backfill")

DEIDENTIFY_STORED = "case.deidentify_stored"  # audit actions of this command
QUARANTINE = "case.quarantine"
QUARANTINE_FOLDER = "quarantine"
QUARANTINE_ERROR = (
    "Image withdrawn: the stored DICOM film has burned-in annotation (patient "
    "details in the pixels), so it was moved to quarantine for review."
)
PAGE = 100


@dataclass
class Summary:
    """The command's result, printed as JSON. With dry_run, counts say what a run would do."""

    dry_run: bool
    scanned: int = 0
    rewritten: int = 0
    already_done: int = 0
    rows_repaired: int = 0
    quarantined: int = 0  # burned-in cases moved to quarantine by this run
    burned_in: list[str] = field(default_factory=list)  # case ids, quarantined or to be
    failed: list[dict[str, str]] = field(default_factory=list)  # {"case_id", "reason"}

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "scanned": self.scanned,
            "rewritten": self.rewritten,
            "already_done": self.already_done,
            "rows_repaired": self.rows_repaired,
            "burned_in": self.burned_in,
            "quarantined": self.quarantined,
            "failed": self.failed,
            "implementation_version": IMPLEMENTATION_VERSION,
        }


class CaseObjects(ObjectStore):
    """The object store plus what quarantine needs: list one case's objects."""

    async def keys_under(self, prefix: str) -> list[str]:
        keys: list[str] = []
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(str(o["Key"]) for o in page.get("Contents", []))
        except Exception as e:  # botocore's errors, as ObjectStore maps them
            raise DependencyUnavailable("s3", str(e)) from e
        return keys


@dataclass(frozen=True)
class _Row:
    id: str
    image_key: str
    content_sha256: str
    width: int | None
    height: int | None
    source_format: str


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as db:
        stmt = select(func.count()).select_from(Case)
        return int((await db.exec(stmt)).one())


async def _page(sessions: async_sessionmaker[AsyncSession], after: str) -> list[_Row]:
    """The next cases by id (keyset paging: rows added meanwhile do not shift it)."""
    stmt = select(Case).where(col(Case.id) > after).order_by(col(Case.id)).limit(PAGE)
    async with sessions() as db:
        return [
            _Row(c.id, c.image_key, c.content_sha256, c.width, c.height, c.source_format)
            for c in (await db.exec(stmt)).all()
        ]


async def _quarantine_recorded(db: AsyncSession, case_id: str) -> bool:
    stmt = (
        select(AuditEvent.id)
        .where(AuditEvent.action == QUARANTINE, AuditEvent.object_id == case_id)
        .limit(1)
    )
    return (await db.exec(stmt)).first() is not None


class Backfill:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], store: CaseObjects, summary: Summary
    ) -> None:
        self.sessions, self.store, self.summary = sessions, store, summary

    def quarantine_prefix(self, case_id: str) -> str:
        return self.store.key(QUARANTINE_FOLDER, f"{case_id}/")

    async def case(self, row: _Row) -> str:
        """Handle one case; returns its outcome word for the progress line."""
        try:
            data = await self.store.get(row.image_key)
        except ObjectMissing:
            original = self.quarantine_prefix(row.id) + row.image_key.rsplit("/", 1)[-1]
            try:
                await self.store.get(original)
            except ObjectMissing:
                raise Unfit("the stored file is missing") from None
            return await self._burned_in(row, earlier=True)  # maybe not finished then
        step = await anyio.to_thread.run_sync(plan, data, row.width, row.height, row.source_format)
        if step.action == "burned_in":
            return await self._burned_in(row)
        if step.action == "done":
            outcome = "already done"
            if step.sha256 != row.content_sha256:
                if not self.summary.dry_run:
                    await self._record(row, step.sha256, None)
                self.summary.rows_repaired += 1
                outcome += ", row checksum repaired"
            self.summary.already_done += 1
            return outcome
        if not self.summary.dry_run:
            await self.store.put(
                row.image_key,
                step.data,
                CONTENT_TYPES.get(row.source_format, "application/octet-stream"),
            )
            await self._record(
                row,
                step.sha256,
                {
                    "format": row.source_format,
                    "previous_sha256": row.content_sha256,
                    "sha256": step.sha256,
                    "bytes": len(step.data),
                    "implementation": (
                        IMPLEMENTATION_VERSION if row.source_format == "dicom" else "strip_metadata"
                    ),
                },
            )
        self.summary.rewritten += 1
        return "would be rewritten" if self.summary.dry_run else "rewritten"

    async def _record(self, row: _Row, sha256: str, detail: dict[str, Any] | None) -> None:
        async with transaction(self.sessions) as db:
            case = await db.get(Case, row.id)
            if case is None or case.image_key != row.image_key:
                raise Unfit("the case row changed during the run; run again")
            case.content_sha256 = sha256
            db.add(case)
            if detail is not None:
                audit.record(db, None, DEIDENTIFY_STORED, "case", row.id, detail)

    async def _burned_in(self, row: _Row, earlier: bool = False) -> str:
        self.summary.burned_in.append(row.id)
        if self.summary.dry_run:
            return "burned-in annotation: " + (
                "quarantined by an earlier run" if earlier else "would be quarantined"
            )
        if not earlier:
            log.warning(
                "case %s: stored DICOM film has burned-in annotation; moving every "
                "object of the case to quarantine",
                row.id,
            )
        await self._withdraw(row.id)
        moved = await self._move_to_quarantine(row.id)
        async with transaction(self.sessions) as db:
            case = await db.get(Case, row.id)
            if case is None:
                raise Unfit("the case row is gone")
            case.error = QUARANTINE_ERROR  # again, if a job has written over it since
            db.add(case)
            if not moved and await _quarantine_recorded(db, row.id):
                return "burned-in annotation: already quarantined"
            audit.record(
                db,
                None,
                QUARANTINE,
                "case",
                row.id,
                {
                    "reason": "burned_in_annotation",
                    "objects_moved": len(moved),
                    "quarantine_prefix": self.quarantine_prefix(row.id),
                },
            )
        self.summary.quarantined += 1
        return f"burned-in annotation: quarantined ({len(moved)} objects moved)"

    async def _withdraw(self, case_id: str) -> None:
        """Mark the case quarantined before anything moves: from this commit on every API
        process refuses it (backend.cases.service.visible_case), whatever its cache holds."""
        async with transaction(self.sessions) as db:
            case = await db.get(Case, case_id)
            if case is None:
                raise Unfit("the case row is gone")
            if case.quarantined_at is None:  # a re-run keeps the first date
                case.quarantined_at = utcnow()
            case.error = QUARANTINE_ERROR
            db.add(case)

    async def _move_to_quarantine(self, case_id: str) -> list[str]:
        """Copy each object of the case under the quarantine prefix, read the copy back and
        compare, then delete the original: a stop midway loses nothing, and a re-run moves
        whatever is left."""
        source = self.store.key(case_id, "")
        moved = []
        for key in await self.store.keys_under(source):
            target = self.quarantine_prefix(case_id) + key.removeprefix(source)
            data = await self.store.get(key)
            await self.store.put(target, data, "application/octet-stream")
            copy = await self.store.get(target)
            if hashlib.sha256(copy).digest() != hashlib.sha256(data).digest():
                raise Unfit(f"the quarantine copy of {key} differs; original kept")
            moved.append(key)
        for key in moved:
            await self.store.delete(key)
        return moved


def _reason(e: Exception) -> str:
    """A failure's reason for the summary: our own messages, else the type only (a library's
    message might quote a value from the file)."""
    if isinstance(e, Unfit | DependencyUnavailable):
        return str(e)
    return f"unexpected {type(e).__name__}"


async def run(
    settings: Settings, dry_run: bool = False, progress: Callable[[str], None] = lambda _: None
) -> Summary:
    """Backfill every stored film (see the module doc); returns the summary."""
    engine = make_engine(settings)
    store = CaseObjects(settings)
    summary = Summary(dry_run=dry_run)
    try:
        await store.start()
        await store.ping()  # a store that is down fails the run at once, not once per film
        sessions = make_sessionmaker(engine)
        work = Backfill(sessions, store, summary)
        total, after = await _count(sessions), ""
        while rows := await _page(sessions, after):
            for row in rows:
                summary.scanned += 1
                try:
                    outcome = await work.case(row)
                except Exception as e:  # one bad film must not stop the others
                    outcome = f"failed: {_reason(e)}"
                    summary.failed.append({"case_id": row.id, "reason": _reason(e)})
                    log.warning("case %s: %s", row.id, outcome)
                progress(f"{summary.scanned}/{total} {row.id} {outcome}")
            after = rows[-1].id
    finally:
        await store.close()
        await engine.dispose()
    return summary
