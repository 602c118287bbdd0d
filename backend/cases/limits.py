"""Per-user upload limits and the STAT rules (issue 12: one account put 80 STAT uploads in
3.5 s and took 12 of the top 20 worklist places).

- every upload: at most ``uploads_per_minute`` per user in any 60 s;
- STAT: a reason is required (``priority_reason``), and at most ``stat_uploads_per_hour`` per
  user in any hour (urgent and routine are not capped beyond the rate).

The counts are the user's rows in the cases table, so every API process sees the same numbers
and a restart forgets nothing. An upload is checked twice: before any work (a cheap early
refusal) and again once its row is written, under a per-user lock, so concurrent uploads, to
any process, cannot pass the limit together.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.cases import repository as repo
from backend.cases.enums import Priority
from backend.errors import Invalid, TooManyRequests
from backend.platform.db import utcnow
from backend.settings import Settings

REASON_MAX = 500
# C0 controls but tab and newline, DEL, and the bidirectional overrides/isolates that can make
# a worklist line read differently from what is stored
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Rule:
    name: str  # names the rule in the refusal ("rule" in the body)
    limit: int
    window: timedelta
    priority: Priority | None  # None: every upload

    def message(self, wait_s: int) -> str:
        what = "STAT uploads" if self.priority == Priority.STAT else "uploads"
        per = "hour" if self.window == timedelta(hours=1) else "minute"
        return (
            f"Too many {what}: at most {self.limit} per {per} per user "
            f"(rule {self.name}); try again in {wait_s} s."
        )


def rules_for(settings: Settings, priority: Priority) -> list[Rule]:
    rules = [Rule("uploads_per_minute", settings.uploads_per_minute, timedelta(minutes=1), None)]
    if priority == Priority.STAT:
        rules.append(
            Rule(
                "stat_uploads_per_hour",
                settings.stat_uploads_per_hour,
                timedelta(hours=1),
                Priority.STAT,
            )
        )
    return [r for r in rules if r.limit > 0]


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)  # SQLite: naive UTC


async def enforce(
    db: AsyncSession,
    settings: Settings,
    owner_id: int,
    priority: Priority,
    case_id: str | None = None,
) -> None:
    """429 with Retry-After if this upload would pass a limit. `case_id`: the upload's own
    row, already written (not counted against itself)."""
    now = utcnow()
    for rule in rules_for(settings, priority):
        recent = await repo.recent_uploads(
            db, owner_id, now - rule.window, rule.priority, rule.limit, exclude_id=case_id
        )
        if len(recent) >= rule.limit:
            # a place frees when the limit-th newest upload leaves the window
            wait_s = max(1, math.ceil((_aware(recent[-1]) + rule.window - now).total_seconds()))
            raise TooManyRequests(
                rule.message(wait_s), retry_after_s=wait_s, extra={"rule": rule.name}
            )


async def enforce_after_insert(
    db: AsyncSession, settings: Settings, owner_id: int, priority: Priority, case_id: str
) -> None:
    """The exact check: this user's other uploads wait on the lock until this transaction
    ends, and every upload committed before it is counted."""
    if rules_for(settings, priority):
        await repo.lock_owner_uploads(db, owner_id)
        await enforce(db, settings, owner_id, priority, case_id)


def _bad(message: str) -> Invalid:
    return Invalid.field("body", message, "priority_reason")


def priority_reason(value: str | None, priority: Priority) -> str | None:
    """The reason given for the priority: required for STAT, at most 500 characters, no
    control characters (but tab and newline) or bidi overrides; None when blank."""
    text = (value or "").strip()
    if not text:
        if priority == Priority.STAT:
            raise _bad(
                "priority_reason is required for STAT priority: say why this case "
                "cannot wait (e.g. suspected tension pneumothorax)."
            )
        return None
    if len(text) > REASON_MAX:
        raise _bad(f"priority_reason must be at most {REASON_MAX} characters.")
    if _UNSAFE.search(text):
        raise _bad("priority_reason contains a control or bidirectional-override character.")
    return text
