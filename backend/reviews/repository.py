"""All SQL for reviews (append-only)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.reviews.models import Review


async def list_for_case(session: AsyncSession, case_id: str) -> list[tuple[Review, User | None]]:
    """Oldest first, each with its reviewer (None if the user row is gone)."""
    stmt = (select(Review, User).join(User, col(User.id) == col(Review.reviewer_id), isouter=True)
            .where(Review.case_id == case_id)
            .order_by(col(Review.created_at), col(Review.id)))
    return [(r, u) for r, u in (await session.exec(stmt)).all()]


def add(session: AsyncSession, review: Review) -> Review:
    session.add(review)
    return review
