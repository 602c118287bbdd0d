"""/api/admin/datasets/export: reviewed cases as a zip in the QaTa training layout (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, post
from litestar.background_tasks import BackgroundTask
from litestar.params import Body
from litestar.response import File
from litestar.status_codes import HTTP_200_OK

from backend.datasets.service import ExportQuery, export_dataset
from backend.http.deps import Ctx, CurrentUser, Db, Svc
from backend.http.guards import ADMINS
from backend.http.openapi import refuses
from backend.http.params import utc


class ExportIn(msgspec.Struct):
    """All optional: which reviewed cases (by upload time) and at most how many."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=20000)] = 5000


class DatasetController(Controller):
    path = "/api/admin/datasets"
    tags = ("admin", "datasets")
    guards = (ADMINS,)

    @post("/export", status_code=HTTP_200_OK, media_type="application/zip",
          responses=refuses(409))
    async def export(self, db: Db, services: Svc, ctx: Ctx, user: CurrentUser,
                     data: Annotated[ExportIn | None, Body(
                         description="optional filters; an empty body exports up to 5000 "
                                     "cases")] = None) -> File:
        """Accepted and edited cases (rejected ones excluded) as a zip: images/, masks/ (the
        model's masks, not redrawn by reviewers), annotations.csv, README.txt. 409 if none."""
        body = data or ExportIn()
        export = await export_dataset(db, services, ctx, user, ExportQuery(
            utc(body.created_from, "created_from", "body"),
            utc(body.created_to, "created_to", "body"), body.limit))
        return File(path=export.path, filename=export.filename, media_type="application/zip",
                    headers={"X-Export-Cases": str(export.cases),
                             "X-Export-Skipped": str(export.skipped),
                             "Cache-Control": "private, no-store"},
                    background=BackgroundTask(export.path.unlink, missing_ok=True))


CONTROLLERS = [DatasetController]
