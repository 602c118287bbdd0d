"""All SQL for the audit log (read side only: nothing here, or anywhere, updates or deletes an
event; the database refuses it too, see the migration that guards audit_events)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.admin.models import AuditEvent


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    user_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    case_id: str | None = None  # shorthand for object_type=case, object_id=<id>
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


AuditRow = tuple[AuditEvent, str | None]  # the event and its user's email


def _where(stmt: Any, query: AuditQuery) -> Any:
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == query.user_id)
    if query.object_type:
        stmt = stmt.where(AuditEvent.object_type == query.object_type)
    if query.object_id:
        stmt = stmt.where(AuditEvent.object_id == query.object_id)
    if query.case_id:
        stmt = stmt.where(AuditEvent.object_type == "case", AuditEvent.object_id == query.case_id)
    if query.since:
        stmt = stmt.where(col(AuditEvent.at) >= query.since)
    if query.until:
        stmt = stmt.where(col(AuditEvent.at) <= query.until)
    return stmt


def _with_email() -> Any:
    return select(AuditEvent, User.email).join(
        User, col(User.id) == col(AuditEvent.user_id), isouter=True
    )


async def search_audit(session: AsyncSession, query: AuditQuery) -> tuple[list[AuditRow], int]:
    """One page, newest first, and the number of matching events."""
    total = (
        await session.exec(
            select(func.count()).select_from(_where(select(AuditEvent.id), query).subquery())
        )
    ).one()
    stmt = _where(_with_email(), query).order_by(
        col(AuditEvent.at).desc(), col(AuditEvent.id).desc()
    )
    rows = (await session.exec(stmt.limit(query.limit).offset(query.offset))).all()
    return [(e, email) for e, email in rows], int(total)


async def iter_audit(
    session: AsyncSession, query: AuditQuery, batch: int = 1000
) -> AsyncIterator[AuditRow]:
    """Every matching event, newest id first, read in batches (keyset, not offset: events
    written meanwhile neither shift nor repeat rows)."""
    before: int | None = None
    while True:
        stmt = _where(_with_email(), query)
        if before is not None:
            stmt = stmt.where(col(AuditEvent.id) < before)
        rows = (await session.exec(stmt.order_by(col(AuditEvent.id).desc()).limit(batch))).all()
        for event, email in rows:
            yield event, email
        if len(rows) < batch:
            return
        before = rows[-1][0].id


async def recorded_actions(session: AsyncSession) -> list[str]:
    """Every action name the log holds (from its index), including any no longer recorded."""
    rows = await session.exec(select(AuditEvent.action).distinct())
    return [str(a) for a in rows.all()]


async def recent_event_exists(
    session: AsyncSession, *, action: str, user_id: int | None, object_id: str, since: datetime
) -> bool:
    stmt = (
        select(AuditEvent.id)
        .where(
            AuditEvent.action == action,
            AuditEvent.object_id == object_id,
            AuditEvent.user_id == user_id,
            col(AuditEvent.at) >= since,
        )
        .limit(1)
    )
    return (await session.exec(stmt)).first() is not None
