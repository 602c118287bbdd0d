"""Triage: the pure policy, its SQL reading (same scores on the real database), and the
worklist's default order, fields and paging."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from backend.cases.models import Case
from backend.platform.db import transaction
from backend.settings import Settings, load_settings
from backend.triage.policy import TriagePolicy, assess, score_sql
from tests.backend.backend_testkit import Stack

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = TriagePolicy(
    routine_escalation_hours=24,
    urgent_escalation_hours=4,
    high_burden_percent=20,
    moderate_burden_percent=10,
)


def _assess(
    priority: str = "routine",
    status: str = "done",
    review_state: str = "unreviewed",
    burden: float | None = None,
    waited_h: float = 0.0,
):  # type: ignore[no-untyped-def]
    return assess(
        POLICY,
        priority=priority,
        status=status,
        review_state=review_state,
        lesion_burden_percent=burden,
        created_at=NOW - timedelta(hours=waited_h),
        now=NOW,
    )


def test_priority_burden_and_reasons() -> None:
    stat, urgent, routine = (_assess(p, burden=1.0) for p in ("stat", "urgent", "routine"))
    assert stat.score > urgent.score > routine.score
    assert stat.reason == "requested STAT; lesion burden 1% (low)"
    high = _assess("routine", burden=23.4)
    assert high.reason == "routine; lesion burden 23% (high)"
    assert high.score == routine.score + 20 < urgent.score  # burden never jumps a tier
    assert _assess("routine", burden=12).score == routine.score + 10
    pending = _assess("urgent", status="queued", burden=None)
    assert pending.reason == "requested urgent; model result pending"
    assert pending.score == urgent.score


def test_waiting_escalates_so_no_case_waits_forever() -> None:
    assert _assess("routine", burden=1, waited_h=23.9).score == 100
    escalated = _assess("routine", burden=1, waited_h=26.5)
    assert escalated.score == 200
    assert escalated.reason.endswith("waiting 26 h (escalated to urgent)")
    assert _assess("routine", burden=1, waited_h=28).score == 300  # 24 h + 4 h
    assert _assess("urgent", burden=1, waited_h=4).reason.endswith("(escalated to stat)")
    assert _assess("stat", burden=1, waited_h=500).score == 300


def test_closed_cases_score_zero() -> None:
    assert _assess("stat", review_state="accepted", burden=50).score == 0
    assert _assess("stat", status="failed").reason == "processing failed: nothing to review"
    assert _assess("urgent", review_state="rejected").reason == "reviewed (rejected)"


def test_policy_reads_settings(monkeypatch) -> None:
    assert TriagePolicy.from_settings(Settings()) == TriagePolicy()  # the same defaults
    monkeypatch.setenv("MEDSEGTEXT_TRIAGE_ROUTINE_ESCALATION_HOURS", "2")
    monkeypatch.setenv("MEDSEGTEXT_TRIAGE_HIGH_BURDEN_PERCENT", "30")
    policy = TriagePolicy.from_settings(load_settings())
    assert (policy.routine_escalation_hours, policy.high_burden_percent) == (2, 30)


async def test_sql_scores_equal_the_policy(stack: Stack) -> None:
    """Every combination of priority, status, review state, burden band and waiting time
    scores the same in SQL (sorting, paging) as in Python (the reason shown)."""
    owner, _ = await stack.create_user("clinician")
    now = datetime.now(UTC)
    combos = itertools.product(
        ("routine", "urgent", "stat"),
        ("queued", "done", "failed"),
        ("unreviewed", "accepted"),
        (None, 3.0, 10.0, 25.0),
        (0.5, 5.0, 25.0, 30.0),
    )
    ids = []
    async with transaction(stack.services.sessions) as db:
        for priority, status, state, burden, waited in combos:
            case = Case(
                owner_id=owner,
                priority=priority,
                status=status,
                review_state=state,
                lesion_burden_percent=burden,
                image_key="none",
                created_at=now - timedelta(hours=waited),
            )
            db.add(case)
            ids.append(case.id)
    async with stack.services.sessions() as db:
        stmt = select(Case, score_sql(POLICY, now)).where(col(Case.id).in_(ids))
        rows = (await db.exec(stmt)).all()
    assert len(rows) == len(ids) == 288
    for case, sql_score in rows:
        expected = assess(
            POLICY,
            priority=case.priority,
            status=case.status,
            review_state=case.review_state,
            lesion_burden_percent=case.lesion_burden_percent,
            created_at=case.created_at,
            now=now,
        ).score
        assert sql_score == expected, (
            case.priority,
            case.status,
            case.review_state,
            case.lesion_burden_percent,
            now - case.created_at,
        )


async def test_worklist_order_fields_and_paging(stack: Stack) -> None:
    owner, email = await stack.create_user("clinician")
    headers = {"Authorization": f"Bearer {await stack.login(email)}"}
    now = datetime.now(UTC)
    spec = {  # name: (priority, status, review_state, burden, hours waited)
        "routine": ("routine", "queued", "unreviewed", None, 0.1),
        "urgent": ("urgent", "queued", "unreviewed", None, 0.2),
        "old-routine": ("routine", "done", "unreviewed", 2.0, 30.0),
        "stat-high": ("stat", "done", "unreviewed", 25.0, 0.3),
        "stat": ("stat", "queued", "unreviewed", None, 0.4),
        "reviewed": ("stat", "done", "accepted", 40.0, 0.5),
    }
    ids = {}
    async with transaction(stack.services.sessions) as db:
        for name, (priority, status, state, burden, waited) in spec.items():
            case = Case(
                owner_id=owner,
                priority=priority,
                status=status,
                review_state=state,
                lesion_burden_percent=burden,
                image_key=f"none-{uuid.uuid4().hex}",
                original_filename=f"{name}.png",
                created_at=now - timedelta(hours=waited),
            )
            db.add(case)
            ids[case.id] = name

    r = await stack.client.get("/api/cases?limit=100", headers=headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [ids[c["id"]] for c in items] == [
        "stat-high",
        "old-routine",
        "stat",
        "urgent",
        "routine",
        "reviewed",
    ]
    by_name = {ids[c["id"]]: c for c in items}
    assert by_name["stat-high"]["triage_reason"] == "requested STAT; lesion burden 25% (high)"
    assert by_name["old-routine"]["triage_reason"] == (
        "routine; lesion burden 2% (low); waiting 30 h (escalated to stat)"
    )
    assert by_name["reviewed"]["triage_score"] == 0
    assert [c["triage_score"] for c in items] == [320, 300, 300, 200, 100, 0]

    pages = []
    for offset in range(0, 6, 4):
        page = (
            await stack.client.get(
                f"/api/cases?sort=triage&limit=4&offset={offset}", headers=headers
            )
        ).json()
        assert page["total"] == 6
        pages += [c["id"] for c in page["items"]]
    assert pages == [c["id"] for c in items]  # pages neither repeat nor skip

    detail = (await stack.client.get(f"/api/cases/{items[0]['id']}", headers=headers)).json()
    assert detail["triage_score"] == 320 and detail["triage_reason"].startswith("requested STAT")


async def test_escalation_hours_come_from_settings(stack: Stack, other_stack) -> None:
    async with other_stack(triage_routine_escalation_hours=1) as quick:
        owner, email = await quick.create_user("clinician")
        headers = {"Authorization": f"Bearer {await quick.login(email)}"}
        async with transaction(quick.services.sessions) as db:
            db.add(
                Case(
                    owner_id=owner,
                    priority="routine",
                    status="queued",
                    image_key="x",
                    created_at=datetime.now(UTC) - timedelta(hours=2),
                )
            )
        item = (await quick.client.get("/api/cases", headers=headers)).json()["items"][0]
        assert item["triage_score"] == 200
        assert item["triage_reason"].endswith("waiting 2 h (escalated to urgent)")
    assert stack.settings.triage_routine_escalation_hours == 24  # the default elsewhere
