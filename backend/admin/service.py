"""Dashboard statistics: load, speed, failures and how often the model's text is accepted."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.adapters.errors import DependencyUnavailable
from backend.admin.schemas import Stats, Turnaround
from backend.cases import repository as cases_repo
from backend.cases.enums import FINISHED, CaseStatus
from backend.models_registry.agreement import shown_agreement
from backend.platform.services import Services
from backend.reviews.enums import ReviewState


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in [0, 100]); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


async def stats(db: AsyncSession, services: Services) -> Stats:
    by_status: dict[str, int] = dict.fromkeys(CaseStatus, 0)
    by_status.update(await cases_repo.count_by_status(db))
    try:
        depth: int | None = await services.queue.depth()
    except DependencyUnavailable:
        depth = None
    durations = [(f - c).total_seconds() for c, f in await cases_repo.recent_turnarounds(db)]
    finished = sum(by_status.get(s, 0) for s in FINISHED)
    by_review = await cases_repo.count_by_review_state(db)
    reviewed = sum(n for state, n in by_review.items() if state != ReviewState.UNREVIEWED)

    def rounded(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return Stats(
        cases_by_status=by_status,
        cases_total=sum(by_status.values()),
        queue_depth=depth,
        turnaround=Turnaround(
            len(durations), rounded(percentile(durations, 50)), rounded(percentile(durations, 95))
        ),
        failure_rate=rounded(by_status.get(CaseStatus.FAILED, 0) / finished) if finished else None,
        reviews_by_state=by_review,
        accepted_unedited_share=(
            rounded(by_review.get(ReviewState.ACCEPTED, 0) / reviewed) if reviewed else None
        ),
        model_agreement=await shown_agreement(db),
    )
