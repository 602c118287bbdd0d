"""All SQL for the audit log (read side) and the review statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.admin.models import AuditEvent


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    user_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


async def search_audit(session: AsyncSession, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    stmt = select(AuditEvent)
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == query.user_id)
    if query.object_type:
        stmt = stmt.where(AuditEvent.object_type == query.object_type)
    if query.object_id:
        stmt = stmt.where(AuditEvent.object_id == query.object_id)
    if query.since:
        stmt = stmt.where(col(AuditEvent.at) >= query.since)
    if query.until:
        stmt = stmt.where(col(AuditEvent.at) <= query.until)
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    stmt = stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    rows = (await session.exec(stmt.limit(query.limit).offset(query.offset))).all()
    return list(rows), int(total)


async def recent_event_exists(session: AsyncSession, *, action: str, user_id: int | None,
                              object_id: str, since: datetime) -> bool:
    stmt = (select(AuditEvent.id).where(AuditEvent.action == action,
                                        AuditEvent.object_id == object_id,
                                        AuditEvent.user_id == user_id,
                                        col(AuditEvent.at) >= since).limit(1))
    return (await session.exec(stmt)).first() is not None
