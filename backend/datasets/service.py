"""Export reviewed cases as a training set (QaTa layout; which cases, and which masks:
backend.datasets.layout) into a zip in an unnamed temporary file (O_TMPFILE, or unlinked at once
where the OS lacks it), which the controller streams and closes: the zip has no name in the temp
folder, so no download, failure or crash can leave one behind.

Files are fetched from S3 a few at a time; decoding, resizing and zip writing run in a worker
thread, one case at a time, so memory stays at a few images whatever the export's size."""

from __future__ import annotations

import asyncio
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO

import anyio.to_thread
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.principal import Principal
from backend.adapters.errors import ObjectMissing
from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.cases import repository as cases_repo
from backend.cases.models import Case
from backend.datasets import layout
from backend.errors import Conflict
from backend.platform.db import utcnow
from backend.platform.logs import get_logger
from backend.platform.services import Services
from backend.reviews import repository as reviews_repo
from backend.reviews.enums import SIGNED_OFF
from backend.reviews.outcome import outcome_of
from inference.errors import InputError

log = get_logger("datasets")
EXPORTED_STATES = tuple(SIGNED_OFF)  # accepted and edited: rejected cases never train a model
_FETCH_BATCH = 4


@dataclass(frozen=True)
class ExportQuery:
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = 5000


@dataclass(frozen=True)
class Export:
    file: IO[bytes]  # the zip, positioned at its start; whoever sends it closes it
    size: int
    filename: str
    cases: int
    skipped: int


def _write_case(
    zf: zipfile.ZipFile, row: layout.AnnotationRow, image: bytes, mask: bytes | None
) -> str | None:
    """Add one case (no mask given: the reviewer's empty one); the reason it was left out if
    its stored files cannot be read."""
    try:
        image_png, mirrored = layout.image_png(image)
        mask_png = (
            layout.mask_png(mask, mirrored) if mask is not None else (layout.empty_mask_png())
        )
    except (InputError, OSError, ValueError) as e:
        log.warning("case left out of export", extra={"case_id": row.case_id, "reason": str(e)})
        return f"stored files unreadable ({type(e).__name__})"
    zf.writestr(f"images/{row.image}", image_png, zipfile.ZIP_STORED)
    zf.writestr(f"masks/{row.mask}", mask_png, zipfile.ZIP_STORED)
    return None


async def _fetch(
    services: Services, case: Case, row: layout.AnnotationRow
) -> tuple[bytes, bytes | None] | None:
    """The stored image and, unless the reviewer said no lesion, the model's mask."""
    assert case.mask_key is not None
    try:
        if row.mask_source == layout.EMPTY_MASK:
            return await services.store.get(case.image_key), None
        image, mask = await asyncio.gather(
            services.store.get(case.image_key), services.store.get(case.mask_key)
        )
    except ObjectMissing:
        return None
    return image, mask


async def export_dataset(
    db: AsyncSession, services: Services, ctx: AuditContext, user: Principal, query: ExportQuery
) -> Export:
    cases = await cases_repo.reviewed_for_export(
        db, EXPORTED_STATES, query.created_from, query.created_to, query.limit
    )
    latest = await reviews_repo.latest_for_cases(db, [c.id for c in cases])
    chosen: list[tuple[Case, layout.AnnotationRow]] = []
    skipped: dict[str, str] = {}
    for case in cases:
        if case.id not in latest:  # the query picks reviewed cases; a review cannot vanish
            skipped[case.id] = "no review"
            continue
        outcome = outcome_of(case, *latest[case.id])
        if why := layout.left_out(case, outcome):
            skipped[case.id] = why
        else:
            chosen.append((case, layout.annotation_row(case, outcome)))
    if not chosen:
        raise Conflict("No accepted or edited case the export takes matches; nothing to export.")
    now = utcnow()
    file = tempfile.TemporaryFile(prefix="medsegtext-export-", suffix=".zip")  # noqa: SIM115
    rows: list[layout.AnnotationRow] = []
    try:
        with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as zf:
            for i in range(0, len(chosen), _FETCH_BATCH):
                batch = chosen[i : i + _FETCH_BATCH]
                files = await asyncio.gather(*(_fetch(services, c, r) for c, r in batch))
                for (case, row), got in zip(batch, files, strict=True):
                    why = (
                        "stored files missing"
                        if got is None
                        else await anyio.to_thread.run_sync(_write_case, zf, row, *got)
                    )
                    if why:
                        skipped[case.id] = why
                    else:
                        rows.append(row)
            if not rows:
                raise Conflict(
                    "No exportable case: the stored files of every match are missing or unreadable."
                )
            zf.writestr("annotations.csv", layout.annotations_csv(rows))
            zf.writestr(
                "README.txt",
                layout.readme(
                    created=now.isoformat(timespec="seconds"),
                    by=user.email,
                    rows=rows,
                    skipped=skipped,
                ),
            )
        size = file.seek(0, 2)  # the zip's length: its end
        file.seek(0)
    except BaseException:
        file.close()
        raise
    valid = sum(r.split == "valid" for r in rows)
    audit.record(
        db,
        ctx,
        audit.DATASET_EXPORT,
        "dataset",
        None,
        {
            "cases": len(rows),
            "train": len(rows) - valid,
            "valid": valid,
            "skipped": len(skipped),
            "skipped_cases": dict(list(skipped.items())[:100]),
            "case_ids": [r.case_id for r in rows][:1000],
            "created_from": query.created_from.isoformat() if query.created_from else None,
            "created_to": query.created_to.isoformat() if query.created_to else None,
        },
    )
    return Export(
        file,
        size,
        f"medsegtext-dataset-{now.strftime('%Y%m%dT%H%M%SZ')}.zip",
        len(rows),
        len(skipped),
    )
