"""How well each model version agrees with the reviewers.

- accepted unedited: the share of reviewed cases whose shown result the reviewer accepted as is
  (only for results that were shown: a shadow result was never put to a reviewer);
- zone F1: micro-averaged F1 of the version's six zone flags against the reviewer's flags
  (backend.reviews.outcome: corrected flags, the accepted model flags, or the edited sentence's),
  over the cases where those are known; a shadow version is scored from its stored prediction
  (DynamoDB, keyed by case and version) against the same reviewer flags.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.adapters.predictions import PredictionRecord
from backend.cases import repository as cases_repo
from backend.cases.models import Case
from backend.models_registry import repository as repo
from backend.models_registry.models import ModelVersion
from backend.platform.services import Services
from backend.reviews import repository as reviews_repo
from backend.reviews.enums import ReviewState
from backend.reviews.outcome import ReviewOutcome, outcome_of, zone_dict
from inference.sides import PATIENT_ZONES

RECENT_CASES = 5000  # statistics cover the most recently reviewed cases
SHADOW_LOOKUPS = 500  # DynamoDB reads for one shadow version's agreement
_CONCURRENCY = 16


@dataclass(frozen=True)
class Sample:
    shown: bool  # the reviewer saw this version's result
    state: ReviewState  # accepted, edited or rejected
    model_flags: dict[str, bool] | None
    reviewer_flags: dict[str, bool] | None


@dataclass
class Agreement:
    model_version_id: int | None
    name: str | None
    version: str
    reviewed_cases: int  # reviewed cases with this version's output, shown or shadow
    shown_cases: int
    shadow_cases: int
    accepted_unedited_share: float | None  # of shown cases
    rejected_share: float | None  # of shown cases
    zone_cases: int  # cases where both flag sets are known: the F1's basis
    zone_f1: float | None
    exact_zone_match_share: float | None


def zone_f1(pairs: list[tuple[dict[str, bool], dict[str, bool]]]) -> float | None:
    """Micro F1 of predicted vs reviewer flags over all zones of all pairs (None: no pairs).
    Pairs where neither side flags anything agree perfectly but add no positives."""
    if not pairs:
        return None
    tp = sum(p[z] and t[z] for p, t in pairs for z in PATIENT_ZONES)
    fp = sum(p[z] and not t[z] for p, t in pairs for z in PATIENT_ZONES)
    fn = sum(t[z] and not p[z] for p, t in pairs for z in PATIENT_ZONES)
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def _share(n: int, d: int) -> float | None:
    return round(n / d, 3) if d else None


def summarise(
    mv: ModelVersion | None, version: str, name: str | None, samples: list[Sample]
) -> Agreement:
    shown = [s for s in samples if s.shown]
    pairs = [
        (s.model_flags, s.reviewer_flags)
        for s in samples
        if s.model_flags is not None and s.reviewer_flags is not None
    ]
    f1 = zone_f1(pairs)
    return Agreement(
        model_version_id=mv.id if mv else None,
        name=mv.name if mv else name,
        version=version,
        reviewed_cases=len(samples),
        shown_cases=len(shown),
        shadow_cases=len(samples) - len(shown),
        accepted_unedited_share=_share(
            sum(s.state == ReviewState.ACCEPTED for s in shown), len(shown)
        ),
        rejected_share=_share(sum(s.state == ReviewState.REJECTED for s in shown), len(shown)),
        zone_cases=len(pairs),
        zone_f1=None if f1 is None else round(f1, 4),
        exact_zone_match_share=_share(sum(p == t for p, t in pairs), len(pairs)),
    )


async def _reviewed(db: AsyncSession) -> list[tuple[Case, ReviewOutcome]]:
    cases = await cases_repo.recently_reviewed(db, RECENT_CASES)
    latest = await reviews_repo.latest_for_cases(db, [c.id for c in cases])
    return [(c, outcome_of(c, *latest[c.id])) for c in cases if c.id in latest]


async def shown_agreement(db: AsyncSession) -> list[Agreement]:
    """Per version that produced shown results (SQL only: cheap enough for the dashboard)."""
    groups: dict[tuple[str | None, str], list[Sample]] = {}
    for case, out in await _reviewed(db):
        key = (case.model_name, case.model_version or "")
        groups.setdefault(key, []).append(
            Sample(True, out.state, zone_dict(case.zone_flags), out.zone_flags)
        )
    registered = await repo.by_versions(db, [v for _, v in groups])
    return [
        summarise(registered.get(v), v, name, samples)
        for (name, v), samples in sorted(groups.items(), key=lambda kv: kv[0][1])
    ]


async def version_agreement(db: AsyncSession, services: Services, mv: ModelVersion) -> Agreement:
    """One version, its shown results and its shadow predictions alike."""
    reviewed = await _reviewed(db)
    samples = [
        Sample(True, out.state, zone_dict(c.zone_flags), out.zone_flags)
        for c, out in reviewed
        if c.model_version == mv.version
    ]
    others = [(c, out) for c, out in reviewed if c.model_version != mv.version]
    sem = asyncio.Semaphore(_CONCURRENCY)

    async def shadow(case: Case) -> PredictionRecord | None:
        async with sem:
            return await services.predictions.get(case.id, mv.version)

    records = await asyncio.gather(*(shadow(c) for c, _ in others[:SHADOW_LOOKUPS]))
    for (_, out), record in zip(others, records, strict=False):
        if record is not None:
            samples.append(
                Sample(False, out.state, zone_dict(record.summary.zone_flags), out.zone_flags)
            )
    return summarise(mv, mv.version, mv.name, samples)
