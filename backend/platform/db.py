"""Async engine and sessions. One engine per process, created on startup, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.platform.unit_of_work import commit, rollback
from backend.settings import Settings


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(settings: Settings) -> AsyncEngine:
    """The engine for settings.database_url, with the settings' pool bounds and timeouts.

    Pool bounds are per process: N API and worker processes hold up to N x (size + overflow)
    PostgreSQL connections, which RDS's max_connections must cover.

    A database that is down or unreachable costs a request at most the connect, command or pool
    timeout (then 503), never asyncpg's 60 s default connect wait or an indefinite hang."""
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            "command_timeout": settings.db_command_timeout_seconds,
        },
    )

    @event.listens_for(engine.sync_engine, "do_connect")
    def _refused_is_operational(dialect: Any, _rec: Any, cargs: Any, cparams: Any) -> Any:
        """asyncpg raises a refused or timed-out connect as a bare OSError; make it the
        driver's OperationalError, so it reads as "database unavailable" everywhere."""
        try:
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        except OSError as e:  # TimeoutError and ConnectionRefusedError included
            raise dialect.loaded_dbapi.OperationalError(
                f"cannot connect to the database: {str(e) or type(e).__name__}"
            ) from e

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A job's or script's unit of work: commit on success (then the after-commit actions,
    backend.platform.unit_of_work), roll back on error."""
    async with maker() as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            await rollback(session)
            raise
