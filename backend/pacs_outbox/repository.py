"""All SQL for the outbox. A sender claims rows before sending them (a token and a lease in
one conditional UPDATE), so two senders (the job and the sweep, or two workers) never send
the same row at once; a sender that dies leaves its claim to expire."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.pacs_outbox.models import OutboxItem, OutboxStatus


async def latest(db: AsyncSession, case_id: str, destination: str, kind: str) -> OutboxItem | None:
    """The case's newest version of this kind for this destination."""
    stmt = (
        select(OutboxItem)
        .where(
            OutboxItem.case_id == case_id,
            OutboxItem.destination == destination,
            OutboxItem.kind == kind,
        )
        .order_by(col(OutboxItem.version).desc(), col(OutboxItem.id).desc())
        .limit(1)
    )
    return (await db.exec(stmt)).first()


async def has_uid(db: AsyncSession, destination: str, uid: str) -> bool:
    stmt = select(OutboxItem.id).where(
        OutboxItem.destination == destination, OutboxItem.sop_instance_uid == uid
    )
    return (await db.exec(stmt)).first() is not None


async def claim_due(
    db: AsyncSession,
    destination: str,
    now: datetime,
    until: datetime,
    token: str,
    case_id: str | None,
    limit: int,
) -> list[OutboxItem]:
    """Claim up to `limit` pending rows for `destination` that are due and not held by
    another sender (of one case, or of any), oldest first; returns them."""
    due = (
        select(OutboxItem.id)
        .where(
            OutboxItem.destination == destination,
            OutboxItem.status == OutboxStatus.PENDING,
            col(OutboxItem.next_attempt_at) <= now,
            or_(col(OutboxItem.claimed_until).is_(None), col(OutboxItem.claimed_until) < now),
        )
        .order_by(col(OutboxItem.id))
        .limit(limit)
    )
    if case_id is not None:
        due = due.where(OutboxItem.case_id == case_id)
    await db.exec(
        update(OutboxItem)
        .where(
            col(OutboxItem.id).in_(due.scalar_subquery()),
            col(OutboxItem.status) == OutboxStatus.PENDING,
            or_(col(OutboxItem.claimed_until).is_(None), col(OutboxItem.claimed_until) < now),
        )
        .values(claim=token, claimed_until=until)
    )
    stmt = select(OutboxItem).where(OutboxItem.claim == token).order_by(col(OutboxItem.id))
    return list((await db.exec(stmt)).all())


async def held(db: AsyncSession, token: str) -> list[OutboxItem]:
    """The rows this sender still holds (claimed with `token`)."""
    stmt = select(OutboxItem).where(OutboxItem.claim == token).order_by(col(OutboxItem.id))
    return list((await db.exec(stmt)).all())


async def page(
    db: AsyncSession, status: str | None, case_id: str | None, limit: int, offset: int
) -> list[OutboxItem]:
    stmt = select(OutboxItem).order_by(col(OutboxItem.id).desc()).limit(limit).offset(offset)
    if status is not None:
        stmt = stmt.where(OutboxItem.status == status)
    if case_id is not None:
        stmt = stmt.where(OutboxItem.case_id == case_id)
    return list((await db.exec(stmt)).all())
