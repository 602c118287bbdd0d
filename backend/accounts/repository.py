"""All SQL for users and tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import ApiToken, User


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.exec(select(User).where(User.email == email))
    return result.first()


async def find_token(session: AsyncSession, token_hash: str) -> tuple[ApiToken, User] | None:
    stmt = (select(ApiToken, User).join(User, col(User.id) == col(ApiToken.user_id))
            .where(ApiToken.token_hash == token_hash))
    row = (await session.exec(stmt)).first()
    return (row[0], row[1]) if row else None


async def get_token(session: AsyncSession, token_id: int, user_id: int) -> ApiToken | None:
    stmt = select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    return (await session.exec(stmt)).first()


async def list_tokens(session: AsyncSession, user_id: int, kind: str | None = None
                      ) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == user_id)
    if kind:
        stmt = stmt.where(ApiToken.kind == kind)
    stmt = stmt.order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
    return list((await session.exec(stmt)).all())


async def revoke_sessions(session: AsyncSession, user_id: int, when: datetime,
                          keep_token_id: int | None = None) -> int:
    """Revoke every live sign-in session of a user (not personal API tokens), but one."""
    stmt = (update(ApiToken)
            .where(col(ApiToken.user_id) == user_id, col(ApiToken.kind) == "session",
                   col(ApiToken.revoked_at).is_(None), col(ApiToken.id) != (keep_token_id or -1))
            .values(revoked_at=when))
    result = await session.exec(stmt)
    return int(result.rowcount or 0)


async def list_users(session: AsyncSession, *, q: str | None, role: str | None,
                     is_active: bool | None, limit: int, offset: int) -> tuple[list[User], int]:
    stmt = select(User)
    if q:
        stmt = stmt.where(or_(col(User.email).icontains(q, autoescape=True),
                              col(User.full_name).icontains(q, autoescape=True)))
    if role:
        stmt = stmt.where(User.role == role)
    if is_active is not None:
        stmt = stmt.where(User.is_active == is_active)
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    page = stmt.order_by(col(User.id)).limit(limit).offset(offset)
    return list((await session.exec(page)).all()), int(total)
