"""backend.platform.unit_of_work on the suite's real database: an action registered with
after_commit runs once the transaction is committed (another session sees its rows), in order,
once; a rolled-back transaction runs none."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import col, select

from backend.admin import audit
from backend.admin.models import AuditEvent
from backend.platform.db import transaction
from backend.platform.unit_of_work import after_commit, commit
from tests.backend.backend_testkit import Stack


async def _visible(stack: Stack, object_id: str) -> bool:
    """Whether a fresh session sees the event: only once it is committed."""
    async with stack.services.sessions() as other:
        stmt = select(AuditEvent).where(col(AuditEvent.object_id) == object_id)
        return (await other.exec(stmt)).first() is not None


async def test_actions_run_after_the_commit_in_order_once(stack: Stack) -> None:
    object_id, seen = uuid.uuid4().hex, []

    async def first() -> bool:
        seen.append(("first", await _visible(stack, object_id)))
        return True

    async def second() -> str:
        seen.append(("second", await _visible(stack, object_id)))
        return "kicked"

    async with stack.services.sessions() as db:
        audit.record(db, None, audit.CASE_VIEW, "case", object_id)
        one, two = after_commit(db, first), after_commit(db, second)
        assert not one.committed and seen == []  # nothing runs before the commit
        await commit(db)
        await commit(db)  # a later commit of the same session runs nothing again
    assert seen == [("first", True), ("second", True)]
    assert (one.committed, one.result, two.result) == (True, True, "kicked")


async def test_a_rolled_back_transaction_runs_nothing(stack: Stack) -> None:
    object_id, ran = uuid.uuid4().hex, []

    async def action() -> None:
        ran.append(object_id)

    with pytest.raises(RuntimeError):
        async with transaction(stack.services.sessions) as db:
            audit.record(db, None, audit.CASE_VIEW, "case", object_id)
            pending = after_commit(db, action)
            raise RuntimeError("the service refused")
    assert ran == [] and not pending.committed
    assert not await _visible(stack, object_id)
