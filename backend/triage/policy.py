"""The triage policy: how urgently a case needs a reviewer, and why, in words.

One rule, stated once (TIER, BURDEN_POINTS and the policy's thresholds), with two readings of it:
``assess`` (Python, for a case's score and human-readable reason) and ``score_sql`` (the same
rule as a SQL expression, so the worklist sorts and pages in the database). A test checks on
the real database that both give the same score for every combination.

Score (higher = sooner):
- reviewed or failed cases: 0 (nothing to review);
- tier: routine 100, urgent 200, stat 300; an unreviewed case rises one tier after waiting
  ``routine_escalation_hours`` (routine) or ``urgent_escalation_hours`` (urgent), and a routine
  case reaches stat after both, so no case waits forever;
- lesion burden once the model is done: +20 high, +10 moderate.
Equal scores are served oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, literal
from sqlalchemy import case as sql_case
from sqlmodel import col

from backend.cases.enums import CaseStatus, Priority
from backend.cases.models import Case
from backend.reviews.enums import ReviewState
from backend.settings import Settings

TIER = {Priority.ROUTINE: 100, Priority.URGENT: 200, Priority.STAT: 300}
BURDEN_POINTS = {"high": 20, "moderate": 10, "low": 0}
_REQUESTED: dict[str, str] = {
    Priority.STAT: "requested STAT",
    Priority.URGENT: "requested urgent",
    Priority.ROUTINE: "routine",
}


@dataclass(frozen=True)
class TriagePolicy:
    routine_escalation_hours: float = 24
    urgent_escalation_hours: float = 4
    high_burden_percent: float = 20
    moderate_burden_percent: float = 10

    @classmethod
    def from_settings(cls, s: Settings) -> TriagePolicy:
        return cls(
            s.triage_routine_escalation_hours,
            s.triage_urgent_escalation_hours,
            s.triage_high_burden_percent,
            s.triage_moderate_burden_percent,
        )

    def burden_band(self, percent: float) -> str:
        if percent >= self.high_burden_percent:
            return "high"
        return "moderate" if percent >= self.moderate_burden_percent else "low"

    def escalated_priority(self, priority: str, waited: timedelta) -> Priority:
        """The priority after waiting `waited` unreviewed."""
        routine_h, urgent_h = self.routine_escalation_hours, self.urgent_escalation_hours
        if priority == Priority.STAT:
            return Priority.STAT
        if priority == Priority.URGENT:
            return Priority.STAT if waited >= timedelta(hours=urgent_h) else Priority.URGENT
        if waited >= timedelta(hours=routine_h + urgent_h):
            return Priority.STAT
        return Priority.URGENT if waited >= timedelta(hours=routine_h) else Priority.ROUTINE


@dataclass(frozen=True)
class Triage:
    score: int
    reason: str


def assess(
    policy: TriagePolicy,
    *,
    priority: str,
    status: str,
    review_state: str,
    lesion_burden_percent: float | None,
    created_at: datetime,
    now: datetime,
) -> Triage:
    """The score and the reason a reviewer reads ("requested STAT; lesion burden 23% (high)")."""
    if review_state != ReviewState.UNREVIEWED:
        return Triage(0, f"reviewed ({review_state})")
    if status == CaseStatus.FAILED:
        return Triage(0, "processing failed: nothing to review")
    waited = now - created_at
    effective = policy.escalated_priority(priority, waited)
    score = TIER[effective]
    parts = [_REQUESTED.get(priority, priority)]
    if status == CaseStatus.DONE and lesion_burden_percent is not None:
        band = policy.burden_band(lesion_burden_percent)
        score += BURDEN_POINTS[band]
        parts.append(f"lesion burden {lesion_burden_percent:.0f}% ({band})")
    elif status == CaseStatus.OUT_OF_SCOPE:
        parts.append("not analysed: out of scope (a reviewer may override)")
    elif status != CaseStatus.DONE:
        parts.append("model result pending")
    if effective != priority:
        hours = int(waited.total_seconds() // 3600)
        parts.append(f"waiting {hours} h (escalated to {effective})")
    return Triage(score, "; ".join(parts))


def score_sql(policy: TriagePolicy, now: datetime) -> Any:
    """``assess(...).score`` as a SQL expression over the cases table, for ORDER BY."""
    created = col(Case.created_at)
    to_urgent = now - timedelta(hours=policy.routine_escalation_hours)
    to_stat_routine = now - timedelta(
        hours=policy.routine_escalation_hours + policy.urgent_escalation_hours
    )
    to_stat_urgent = now - timedelta(hours=policy.urgent_escalation_hours)
    tier = sql_case(
        (col(Case.priority) == Priority.STAT, TIER[Priority.STAT]),
        (
            col(Case.priority) == Priority.URGENT,
            sql_case((created <= to_stat_urgent, TIER[Priority.STAT]), else_=TIER[Priority.URGENT]),
        ),
        (created <= to_stat_routine, TIER[Priority.STAT]),
        (created <= to_urgent, TIER[Priority.URGENT]),
        else_=TIER[Priority.ROUTINE],
    )
    burden = col(Case.lesion_burden_percent)
    done = col(Case.status) == CaseStatus.DONE
    points = sql_case(
        (and_(done, burden >= policy.high_burden_percent), BURDEN_POINTS["high"]),
        (and_(done, burden >= policy.moderate_burden_percent), BURDEN_POINTS["moderate"]),
        else_=BURDEN_POINTS["low"],
    )
    open_case = and_(
        col(Case.review_state) == ReviewState.UNREVIEWED, col(Case.status) != CaseStatus.FAILED
    )
    return sql_case((open_case, tier + points), else_=literal(0))


def order_by_sql(policy: TriagePolicy, now: datetime) -> tuple[Any, ...]:
    """Worklist order: score, then open cases oldest first, closed ones newest first, then id
    (a total order, so paging never repeats or skips a case)."""
    score = score_sql(policy, now)
    waiting_since = sql_case((score > 0, col(Case.created_at)), else_=None)
    return (score.desc(), waiting_since.asc(), col(Case.created_at).desc(), col(Case.id).desc())


def assess_case(policy: TriagePolicy, case: Case, now: datetime) -> Triage:
    return assess(
        policy,
        priority=case.priority,
        status=case.status,
        review_state=case.review_state,
        lesion_burden_percent=case.lesion_burden_percent,
        created_at=case.created_at,
        now=now,
    )
