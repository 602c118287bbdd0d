"""/api/admin/datasets/export: reviewed cases as a zip in the QaTa training layout (admin)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import IO, Annotated

import anyio.to_thread
import msgspec
from litestar import Controller, post
from litestar.params import Body
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK

from backend.datasets.service import ExportQuery, export_dataset
from backend.http.deps import Ctx, CurrentUser, Db, Svc
from backend.http.guards import ADMINS
from backend.http.openapi import refuses
from backend.platform.instants import utc

CHUNK_BYTES = 2**20


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    """The zip's bytes, read off the event loop; the file is closed however the sending ends
    (done, client gone, error)."""
    try:
        while chunk := await anyio.to_thread.run_sync(file.read, CHUNK_BYTES):
            yield chunk
    finally:
        file.close()


class ExportIn(msgspec.Struct):
    """All optional: which reviewed cases (by upload time) and at most how many."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=20000)] = 5000


class DatasetController(Controller):
    path = "/api/admin/datasets"
    tags = ("admin", "datasets")
    guards = (ADMINS,)

    @post("/export", status_code=HTTP_200_OK, media_type="application/zip", responses=refuses(409))
    async def export(
        self,
        db: Db,
        services: Svc,
        ctx: Ctx,
        user: CurrentUser,
        data: Annotated[
            ExportIn | None,
            Body(description="optional filters; an empty body exports up to 5000 cases"),
        ] = None,
    ) -> Stream:
        """Export reviewed cases as a training data set.

        Accepted and edited cases (rejected ones excluded), by upload time, as a zip in the
        QaTa layout: images/, masks/ (the model's masks, not redrawn by reviewers),
        annotations.csv and README.txt (audited). 409 if no case matches."""
        body = data or ExportIn()
        export = await export_dataset(
            db,
            services,
            ctx,
            user,
            ExportQuery(
                utc(body.created_from, "created_from", "body"),
                utc(body.created_to, "created_to", "body"),
                body.limit,
            ),
        )
        try:
            await db.commit()  # the audit row; a failure here must not leave the zip open
        except BaseException:
            export.file.close()
            raise
        return Stream(
            _chunks(export.file),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{export.filename}"',
                "Content-Length": str(export.size),
                "X-Export-Cases": str(export.cases),
                "X-Export-Skipped": str(export.skipped),
                "Cache-Control": "private, no-store",
            },
        )


CONTROLLERS = [DatasetController]
