"""The one polling loop of the live pages (worklist, case, upload), run from each page's own
background event.

Why one loop: each round must take the state's lock only briefly. Under the lock it checks that
the tab is still signed in (and, for a page, still on it) and asks the page what to fetch; the
API call runs outside the lock, so the tab's own events (a click, a filter) are not held up;
the answer is applied under the lock again. `state.live` is true while a loop runs, which also
keeps a page to one loop per tab.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from portal import api

Q = TypeVar("Q")
A = TypeVar("A")


async def poll(
    state: Any,
    *,
    every: float,
    ask: Callable[[], Q | None],
    fetch: Callable[[str, Q], Awaitable[A]],
    apply: Callable[[Q, A], bool],
    page: str | None = None,
    most: float | None = None,
    failed: Callable[[api.ApiError], None] | None = None,
) -> None:
    """Every `every` seconds: `ask()` (under the lock; None ends the loop) says what to fetch,
    `fetch(token, question)` fetches it (no lock), `apply(question, answer)` (under the lock)
    shows it and says whether to go on. It ends when the tab leaves `page` or is signed out,
    after `most` seconds, at a 401, or when ask or apply says so; `failed` sees other errors
    (the loop goes on). `state` is the background event's `self`."""
    async with state:
        if state.live:
            return
        state.live = True
    started = time.monotonic()
    try:
        while most is None or time.monotonic() - started < most:
            await asyncio.sleep(every)
            async with state:
                if not state._token or (page is not None and state.current_page != page):
                    return
                token = state._token
                question = ask()
            if question is None:
                return
            try:
                answer = await fetch(token, question)
            except api.ApiError as e:
                if e.unauthenticated:
                    return
                if failed is not None:
                    async with state:
                        failed(e)
                continue
            async with state:
                if page is not None and state.current_page != page:
                    return
                if not apply(question, answer):
                    return
    finally:
        async with state:
            state.live = False


async def get_case(token: str, case_id: str) -> dict[str, Any]:
    """One case, as the case page and the upload page follow it."""
    return dict(await api.call("GET", f"/api/cases/{case_id}", token))
