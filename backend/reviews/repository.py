"""All SQL for reviews (append-only)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.reviews.models import Review


async def list_for_case(session: AsyncSession, case_id: str) -> list[tuple[Review, User | None]]:
    """Oldest first, each with its reviewer (None if the user row is gone)."""
    stmt = (
        select(Review, User)
        .join(User, col(User.id) == col(Review.reviewer_id), isouter=True)
        .where(Review.case_id == case_id)
        .order_by(col(Review.created_at), col(Review.id))
    )
    return [(r, u) for r, u in (await session.exec(stmt)).all()]


def add(session: AsyncSession, review: Review) -> Review:
    session.add(review)
    return review


async def latest_for_cases(
    session: AsyncSession, case_ids: list[str]
) -> dict[str, tuple[Review, User | None]]:
    """Each case's latest review (the one its review_state reflects) with its reviewer."""
    if not case_ids:
        return {}
    latest = (
        select(func.max(Review.id))
        .where(col(Review.case_id).in_(case_ids))
        .group_by(col(Review.case_id))
    )
    stmt = (
        select(Review, User)
        .join(User, col(User.id) == col(Review.reviewer_id), isouter=True)
        .where(col(Review.id).in_(latest))
    )
    return {r.case_id: (r, u) for r, u in (await session.exec(stmt)).all()}
