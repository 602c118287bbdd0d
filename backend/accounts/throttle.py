"""Sign-in throttling for emails that have no account, stored in the database.

Known accounts are throttled with their own row (failed_logins, locked_until). Unknown emails get
the same treatment here, in the same database, so every API process agrees and the answers
(401 then 429, the same Retry-After) never reveal whether an account exists.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import SignInThrottle


def _key(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def locked_for(session: AsyncSession, email: str, now: datetime) -> int:
    """Seconds left on the lock of an unknown email, 0 when not locked."""
    row = await session.get(SignInThrottle, _key(email))
    if row is None or row.locked_until is None or _aware(row.locked_until) <= now:
        return 0
    return max(1, int((_aware(row.locked_until) - now).total_seconds() + 0.999))


async def fail(session: AsyncSession, email: str, now: datetime, max_failures: int,
               lockout_seconds: int) -> None:
    """Count one failure (an upsert, so concurrent first failures do not collide); the
    max_failures-th locks the email for lockout_seconds. Rows idle past the lockout go."""
    lockout = timedelta(seconds=lockout_seconds)
    await session.exec(delete(SignInThrottle).where(
        col(SignInThrottle.updated_at) < now - lockout))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    upsert = dialect.insert(table).values(key=_key(email), failures=1, updated_at=now)
    await session.exec(upsert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": table.c.failures + 1, "updated_at": now}))
    row = await session.get(SignInThrottle, _key(email), populate_existing=True)
    if row is not None and row.failures >= max_failures:
        row.failures, row.locked_until = 0, now + lockout
        session.add(row)
