"""A database that refuses one kind of insert, for tests of what happens when a write fails
after other work was done (stored objects, temp files). A real trigger in the test database
(SQLite or PostgreSQL), not a mock: the driver raises exactly as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from tests.backend.backend_testkit import Stack


def is_postgres(stack: Stack) -> bool:
    return stack.settings.database_url.startswith("postgresql")


@asynccontextmanager
async def refused_inserts(
    stack: Stack, table: str, when: str, *, at_commit: bool = False
) -> AsyncIterator[None]:
    """While inside, INSERT INTO `table` fails when the SQL condition `when` (on NEW) holds:
    at the insert, or (PostgreSQL only, a deferred constraint trigger) at COMMIT."""
    name = f"test_refuse_{table}"
    postgres = is_postgres(stack)
    if at_commit and not postgres:
        raise ValueError("a refusal at commit needs PostgreSQL's deferred constraint triggers")
    if postgres:
        trigger = (
            f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED"
            if at_commit
            else f"CREATE TRIGGER {name} BEFORE INSERT ON {table}"
        )
        create = [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
            f"IF {when} THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END; "
            "$$ LANGUAGE plpgsql",
            f"{trigger} FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
        drop = [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
    else:
        create = [
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ]
        drop = [f"DROP TRIGGER IF EXISTS {name}"]
    async with stack.services.sessions() as db:
        for statement in create:
            await db.exec(text(statement))  # type: ignore[call-overload]
        await db.commit()
    try:
        yield
    finally:
        async with stack.services.sessions() as db:
            for statement in drop:
                await db.exec(text(statement))  # type: ignore[call-overload]
            await db.commit()
