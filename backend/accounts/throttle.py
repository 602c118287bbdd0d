"""Sign-in throttling per account and client address, counted in the database (so every API
process agrees and a lock survives a restart).

Three scopes for sign-in, each counted in windows of login_lockout_seconds:
- one account from one client address: login_max_failures lock that pair for
  login_lockout_seconds. The owner signing in from another address is not affected;
- one client address over every account: login_client_max_failures lock the address (one
  client spraying passwords over many accounts);
- one account from every address: login_account_max_failures back the account off for
  login_account_lockout_seconds (many clients guessing one account).
An address the account signed in from within login_known_client_days is spared the last two, so
nobody guessing from elsewhere can lock an owner out. Unknown emails are counted exactly as
accounts are (they have no known addresses), so the answers never reveal whether an account
exists. A fourth scope counts wrong current passwords given to a password change, per account.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import SignInThrottle
from backend.settings import Settings


@dataclass(frozen=True)
class Scope:
    key: str  # sha256 of what is counted: the table holds no email or address
    max_failures: int
    lockout: timedelta


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def scopes(
    settings: Settings, email: str, client_addr: str | None, known_client: bool
) -> list[Scope]:
    """The scopes one sign-in attempt is checked and counted in (the pair first)."""
    client = client_addr or ""
    lockout = timedelta(seconds=settings.login_lockout_seconds)
    pair = Scope(_key("account+client", email, client), settings.login_max_failures, lockout)
    if known_client:
        return [pair]
    return [
        pair,
        Scope(_key("client", client), settings.login_client_max_failures, lockout),
        Scope(
            _key("account", email),
            settings.login_account_max_failures,
            timedelta(seconds=settings.login_account_lockout_seconds),
        ),
    ]


def password_change_scope(settings: Settings, user_id: int) -> Scope:
    """Wrong current passwords given to POST /api/auth/password, per account: counted apart
    from sign-ins, so someone holding a borrowed session who guesses cannot lock the owner
    out of signing in, only out of changing the password for a while."""
    return Scope(
        _key("password-change", str(user_id)),
        settings.login_max_failures,
        timedelta(seconds=settings.login_lockout_seconds),
    )


async def retry_after(session: AsyncSession, checked: list[Scope], now: datetime) -> int:
    """Seconds until every lock on these scopes has passed; 0 when none is locked."""
    rows = await session.exec(
        select(SignInThrottle).where(col(SignInThrottle.key).in_([s.key for s in checked]))
    )
    left = [
        (r.locked_until - now).total_seconds()
        for r in rows
        if r.locked_until is not None and r.locked_until > now
    ]
    return max(1, int(max(left) + 0.999)) if left else 0


async def fail(
    session: AsyncSession, counted: list[Scope], now: datetime, settings: Settings
) -> bool:
    """Count one failure in each scope (upserts, so concurrent failures in other processes are
    all counted); a scope reaching its maximum is locked. True when this failure locked one.
    Rows idle for longer than any window or lock go."""
    window = timedelta(seconds=settings.login_lockout_seconds)
    idle = max([window] + [s.lockout for s in counted])
    await session.exec(delete(SignInThrottle).where(col(SignInThrottle.updated_at) < now - idle))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    expired = table.c.window_start <= now - window
    at_now = literal(now, table.c.window_start.type)  # typed, so PostgreSQL gets a timestamptz
    for scope in counted:
        upsert = dialect.insert(table).values(
            key=scope.key, failures=1, window_start=now, updated_at=now
        )
        await session.exec(
            upsert.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": case((expired, 1), else_=table.c.failures + 1),
                    "window_start": case((expired, at_now), else_=table.c.window_start),
                    "updated_at": now,
                },
            )
        )
    locked = False
    for scope in counted:
        row = await session.get(SignInThrottle, scope.key, populate_existing=True)
        if row is not None and row.failures >= scope.max_failures:
            row.failures, row.window_start, row.locked_until = 0, now, now + scope.lockout
            session.add(row)
            locked = True
    return locked


async def succeed(session: AsyncSession, pair: Scope) -> None:
    """A right password clears the pair's count (the owner's own typos); the address's and the
    account's counts stay, as others' failures."""
    await session.exec(delete(SignInThrottle).where(col(SignInThrottle.key) == pair.key))
