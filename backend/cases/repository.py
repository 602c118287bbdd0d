"""All SQL for cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.cases.enums import CaseStatus, Priority
from backend.cases.models import Case
from backend.reviews.enums import ReviewState


@dataclass(frozen=True)
class CaseQuery:
    owner_id: int | None = None
    status: str | None = None
    priority: str | None = None
    review_state: str | None = None
    q: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    sort: str = "triage"  # triage | newest | oldest | priority
    limit: int = 20
    offset: int = 0


_PRIORITY_RANK = sql_case({Priority.STAT: 0, Priority.URGENT: 1}, value=col(Case.priority), else_=2)


def add(session: AsyncSession, case: Case) -> Case:
    session.add(case)
    return case


async def get(session: AsyncSession, case_id: str) -> Case | None:
    return await session.get(Case, case_id)


async def lock_owner_uploads(session: AsyncSession, owner_id: int) -> None:
    """Serialise one user's uploads until this transaction ends, so the upload limits count
    every other upload of theirs (PostgreSQL: FOR NO KEY UPDATE on the user row, which a
    concurrent case insert's foreign-key lock does not conflict with). SQLite runs one writer
    at a time already, and ignores FOR UPDATE."""
    await session.exec(select(User.id).where(User.id == owner_id).with_for_update(key_share=True))


async def recent_uploads(
    session: AsyncSession,
    owner_id: int,
    since: datetime,
    priority: str | None,
    limit: int,
    exclude_id: str | None = None,
) -> list[datetime]:
    """created_at of the owner's newest `limit` cases since `since` (of that priority if
    given), newest first; `exclude_id` (the upload being checked) not counted."""
    stmt = select(Case.created_at).where(Case.owner_id == owner_id, col(Case.created_at) >= since)
    if priority is not None:
        stmt = stmt.where(Case.priority == priority)
    if exclude_id is not None:
        stmt = stmt.where(Case.id != exclude_id)
    stmt = stmt.order_by(col(Case.created_at).desc()).limit(limit)
    return list((await session.exec(stmt)).all())


async def search(
    session: AsyncSession, query: CaseQuery, triage_order: tuple[Any, ...] = ()
) -> tuple[list[Case], int]:
    """A page of cases; sort=triage orders by `triage_order` (backend.triage.policy)."""
    stmt = select(Case)
    if query.owner_id is not None:
        stmt = stmt.where(Case.owner_id == query.owner_id)
    if query.status:
        stmt = stmt.where(Case.status == query.status)
    if query.priority:
        stmt = stmt.where(Case.priority == query.priority)
    if query.review_state:
        stmt = stmt.where(Case.review_state == query.review_state)
    if query.q:
        stmt = stmt.where(
            or_(
                col(Case.patient_ref).icontains(query.q, autoescape=True),
                col(Case.findings_text).icontains(query.q, autoescape=True),
            )
        )
    if query.created_from:
        stmt = stmt.where(col(Case.created_at) >= query.created_from)
    if query.created_to:
        stmt = stmt.where(col(Case.created_at) <= query.created_to)
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    newest = (col(Case.created_at).desc(), col(Case.id).desc())
    if query.sort == "triage" and triage_order:
        stmt = stmt.order_by(*triage_order)
    elif query.sort == "oldest":
        stmt = stmt.order_by(col(Case.created_at), col(Case.id))
    elif query.sort == "priority":
        stmt = stmt.order_by(_PRIORITY_RANK, *newest)
    else:
        stmt = stmt.order_by(*newest)
    rows = (await session.exec(stmt.limit(query.limit).offset(query.offset))).all()
    return list(rows), int(total)


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    stmt = select(Case.status, func.count()).group_by(Case.status)
    return {status: int(n) for status, n in (await session.exec(stmt)).all()}


async def count_by_review_state(session: AsyncSession) -> dict[str, int]:
    stmt = select(Case.review_state, func.count()).group_by(Case.review_state)
    return {state: int(n) for state, n in (await session.exec(stmt)).all()}


async def recent_turnarounds(
    session: AsyncSession, limit: int = 1000
) -> list[tuple[datetime, datetime]]:
    """(created_at, finished_at) of the most recently finished done cases."""
    stmt = (
        select(Case.created_at, Case.finished_at)
        .where(Case.status == CaseStatus.DONE, col(Case.finished_at).is_not(None))
        .order_by(col(Case.finished_at).desc())
        .limit(limit)
    )
    return [(c, f) for c, f in (await session.exec(stmt)).all() if f is not None]


async def recently_reviewed(session: AsyncSession, limit: int = 5000) -> list[Case]:
    """Done cases with a review, most recently updated first."""
    stmt = (
        select(Case)
        .where(Case.status == CaseStatus.DONE, Case.review_state != ReviewState.UNREVIEWED)
        .order_by(col(Case.updated_at).desc(), col(Case.id).desc())
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def reviewed_for_export(
    session: AsyncSession,
    states: tuple[str, ...],
    created_from: datetime | None,
    created_to: datetime | None,
    limit: int,
) -> list[Case]:
    """Done cases whose latest review is in `states`, oldest first (a stable export order)."""
    stmt = select(Case).where(
        Case.status == CaseStatus.DONE,
        col(Case.review_state).in_(states),
        col(Case.mask_key).is_not(None),
    )
    if created_from:
        stmt = stmt.where(col(Case.created_at) >= created_from)
    if created_to:
        stmt = stmt.where(col(Case.created_at) <= created_to)
    stmt = stmt.order_by(col(Case.created_at), col(Case.id)).limit(limit)
    return list((await session.exec(stmt)).all())
