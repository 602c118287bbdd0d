"""After-commit actions: the one place a job is handed to the queue.

A job must not run before the rows it reads are committed (DESIGN, principle 2), and a job
for rows that were rolled back must never be enqueued. So a service does not enqueue: it
registers the enqueue on the session with :func:`after_commit`, and whoever ends the unit of
work (a request's session, backend.http.deps; a job's or script's, backend.platform.db.
transaction; a handler that must answer with the outcome, e.g. the upload's ``enqueued``)
calls :func:`commit`, which commits and then runs the actions in the order they were
registered. A rollback drops them (:func:`rollback`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")
_KEY = "medsegtext_after_commit"  # in Session.info, which lives as long as the session


@dataclass
class AfterCommit(Generic[T]):
    """One registered action: ``committed`` once its transaction has, ``result`` what the
    action returned."""

    action: Callable[[], Awaitable[T]]
    committed: bool = False
    result: T | None = None


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[T]]) -> AfterCommit[T]:
    """Run ``action`` once this session's transaction has committed; never if it rolls back."""
    pending = AfterCommit(action)
    session.info.setdefault(_KEY, []).append(pending)
    return pending


async def commit(session: AsyncSession) -> None:
    """Commit, then run the actions registered for after it (each once, in order). Actions
    are best effort by contract (enqueue: the sweep repairs a lost job), so they handle their
    own failures; one that raises stops the rest, as any error after a commit would."""
    await session.commit()
    pending: list[AfterCommit[object]] = session.info.pop(_KEY, [])
    for item in pending:
        item.committed = True
    for item in pending:
        item.result = await item.action()


async def rollback(session: AsyncSession) -> None:
    """Roll back and forget the actions registered for after the commit."""
    session.info.pop(_KEY, None)
    await session.rollback()
