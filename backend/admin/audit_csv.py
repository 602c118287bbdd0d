"""The audit log as CSV, streamed row by row from its own database session (the request's
session has committed by the time the body is sent)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.admin.repository import AuditQuery, AuditRow, iter_audit
from backend.platform.csv_cells import csv_safe

COLUMNS = (
    "id",
    "at",
    "user_id",
    "user_email",
    "role",
    "action",
    "object_type",
    "object_id",
    "client_addr",
    "request_id",
    "detail",
)
__all__ = ["COLUMNS", "csv_row", "csv_safe", "stream_csv"]


def csv_row(row: AuditRow) -> list[str]:
    e, email = row
    detail = json.dumps(e.detail, sort_keys=True) if e.detail is not None else None
    return [
        csv_safe(v)
        for v in (
            e.id,
            e.at,
            e.user_id,
            email,
            e.role,
            e.action,
            e.object_type,
            e.object_id,
            e.client_addr,
            e.request_id,
            detail,
        )
    ]


async def stream_csv(
    sessions: async_sessionmaker[AsyncSession], query: AuditQuery, rows_per_chunk: int = 500
) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    n = 0
    async with sessions() as session:
        async for row in iter_audit(session, query):
            writer.writerow(csv_row(row))
            n += 1
            if n % rows_per_chunk == 0:
                yield buf.getvalue().encode("utf-8")
                buf.seek(0)
                buf.truncate()
    yield buf.getvalue().encode("utf-8")
