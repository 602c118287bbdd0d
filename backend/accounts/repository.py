"""All SQL for users and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import ApiToken, User


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.exec(select(User).where(User.email == email))
    return result.first()


async def find_token(session: AsyncSession, token_hash: str) -> tuple[ApiToken, User] | None:
    stmt = (
        select(ApiToken, User)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(ApiToken.token_hash == token_hash)
    )
    row = (await session.exec(stmt)).first()
    return (row[0], row[1]) if row else None


async def get_token(session: AsyncSession, token_id: int, user_id: int) -> ApiToken | None:
    stmt = select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    return (await session.exec(stmt)).first()


@dataclass(frozen=True)
class Liveness:
    """When a token counts as live: at `now`, not revoked, before its stored expiry, and made
    after its kind's entry in born_after (older ones have outlived their kind's maximum; an
    empty born_after checks the stored expiry only)."""

    now: datetime
    born_after: dict[str, datetime]


def _live(stmt: Any, live: Liveness) -> Any:
    stmt = stmt.where(
        col(ApiToken.revoked_at).is_(None),
        or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > live.now),
    )
    if live.born_after:
        stmt = stmt.where(
            or_(
                *(
                    and_(col(ApiToken.kind) == kind, col(ApiToken.created_at) > oldest)
                    for kind, oldest in live.born_after.items()
                )
            )
        )
    return stmt


async def list_tokens(
    session: AsyncSession, user_id: int, kind: str | None = None
) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == user_id)
    if kind:
        stmt = stmt.where(ApiToken.kind == kind)
    stmt = stmt.order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
    return list((await session.exec(stmt)).all())


async def live_tokens(
    session: AsyncSession, user_id: int, live: Liveness, kind: str | None = None
) -> list[ApiToken]:
    """A user's live tokens, oldest first."""
    stmt = _live(select(ApiToken).where(ApiToken.user_id == user_id), live)
    if kind:
        stmt = stmt.where(ApiToken.kind == kind)
    stmt = stmt.order_by(col(ApiToken.created_at), col(ApiToken.id))
    return list((await session.exec(stmt)).all())


async def revoke_unrevoked(
    session: AsyncSession,
    user_id: int,
    when: datetime,
    kind: str | None = None,
    keep_token_id: int | None = None,
) -> int:
    """Set revoked_at on every token of a user not yet revoked (expired ones too, so nothing
    comes back if a lifetime is raised later), but one."""
    stmt = update(ApiToken).where(
        col(ApiToken.user_id) == user_id,
        col(ApiToken.revoked_at).is_(None),
        col(ApiToken.id) != (keep_token_id or -1),
    )
    if kind:
        stmt = stmt.where(col(ApiToken.kind) == kind)
    result = await session.exec(stmt.values(revoked_at=when))
    return int(result.rowcount or 0)


async def page_tokens(
    session: AsyncSession,
    user_id: int,
    *,
    kind: str | None,
    live: Liveness | None,
    limit: int,
    offset: int,
) -> tuple[list[ApiToken], int]:
    """A user's tokens, newest first: the live ones, or all when `live` is None."""
    stmt = select(ApiToken).where(ApiToken.user_id == user_id)
    if kind:
        stmt = stmt.where(ApiToken.kind == kind)
    if live is not None:
        stmt = _live(stmt, live)
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    page = (
        stmt.order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.exec(page)).all()), int(total)


async def signed_in_from(
    session: AsyncSession, user_id: int, client_addr: str | None, since: datetime
) -> bool:
    """Whether the user opened a session from this client address since then."""
    if not client_addr:
        return False
    stmt = (
        select(ApiToken.id)
        .where(
            ApiToken.user_id == user_id,
            ApiToken.kind == "session",
            ApiToken.client_addr == client_addr,
            col(ApiToken.created_at) >= since,
        )
        .limit(1)
    )
    return (await session.exec(stmt)).first() is not None


async def list_users(
    session: AsyncSession,
    *,
    q: str | None,
    role: str | None,
    is_active: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    stmt = select(User)
    if q:
        stmt = stmt.where(
            or_(
                col(User.email).icontains(q, autoescape=True),
                col(User.full_name).icontains(q, autoescape=True),
            )
        )
    if role:
        stmt = stmt.where(User.role == role)
    if is_active is not None:
        stmt = stmt.where(User.is_active == is_active)
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    page = stmt.order_by(col(User.id)).limit(limit).offset(offset)
    return list((await session.exec(page)).all()), int(total)
