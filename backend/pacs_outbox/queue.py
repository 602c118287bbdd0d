"""What goes to the PACS, and when; decided in the transaction that decides the result:

- a review that signs the findings off (accept, edit): a new version of the SEG, the SR and
  the overlay (secondary capture);
- a rejection, once something was queued before: a new SR version saying "rejected, do not
  use" that replaces the last (a PACS cannot be told to delete what it has; the SR is the
  record of what stands);
- the model's result, with pacs_send_preliminary: SEG, an unverified SR ("awaiting review")
  and the overlay.

Only a case that came from a PACS (it has an identity) and only while a destination is
configured. A version replaces the one before it: the SR names it in its Predecessor
Documents Sequence; every object of a kind stays in the case's one series of that kind, its
InstanceNumber the version.

Rows queued in a transaction have the worker send them once it commits (kick, registered with
backend.platform.unit_of_work.after_commit); a lost kick is made up by the outbox's sweep.
"""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.adapters.errors import DependencyUnavailable
from backend.cases.models import Case
from backend.identity_map.service import came_from_pacs
from backend.pacs_outbox import repository as repo
from backend.pacs_outbox.models import Kind, OutboxItem
from backend.pacs_outbox.uids import instance_uid
from backend.platform.services import Services
from backend.platform.unit_of_work import after_commit
from backend.reviews.enums import SIGNED_OFF, ReviewDecision
from backend.reviews.models import Review
from backend.settings import Settings

log = logging.getLogger("medsegtext.pacs_outbox")
RESULT = (Kind.SEG, Kind.SR, Kind.SC)
SEND_JOB = "send_pacs_results"  # backend.pacs_outbox.jobs


async def _queue(
    db: AsyncSession,
    services: Services,
    case: Case,
    kinds: tuple[Kind, ...],
    event: str,
    review_id: int | None,
) -> list[OutboxItem]:
    """One row per kind; a row already queued for the same event is not queued again (a job
    that runs twice). New rows are kicked after the commit."""
    destination, added = services.settings.pacs_ae_title, []
    for kind in kinds:
        uid = instance_uid(case.id, kind, event)
        if await repo.has_uid(db, destination, uid):
            continue
        before = await repo.latest(db, case.id, destination, kind)
        item = OutboxItem(
            case_id=case.id,
            review_id=review_id,
            model_version=case.model_version or "",
            destination=destination,
            kind=kind,
            version=before.version + 1 if before else 1,
            sop_instance_uid=uid,
            replaces_uid=before.sop_instance_uid if before else None,
        )
        db.add(item)
        added.append(item)
    await db.flush()
    if added:
        case_id = case.id
        after_commit(db, lambda: kick(services, case_id, event))
    return added


async def _sends(db: AsyncSession, settings: Settings, case: Case) -> bool:
    return bool(settings.pacs_ae_title) and await came_from_pacs(db, case.id)


async def queue_review(
    db: AsyncSession, services: Services, case: Case, review: Review
) -> list[OutboxItem]:
    """In the review's transaction (backend.reviews.service)."""
    settings = services.settings
    if not await _sends(db, settings, case):
        return []
    if ReviewDecision(review.decision).state in SIGNED_OFF:
        kinds: tuple[Kind, ...] = RESULT
    elif await repo.latest(db, case.id, settings.pacs_ae_title, Kind.SR) is not None:
        kinds = (Kind.SR,)
    else:
        return []  # rejected, nothing sent before: nothing to correct
    return await _queue(db, services, case, kinds, f"review-{review.id}", review.id)


async def queue_preliminary(db: AsyncSession, services: Services, case: Case) -> list[OutboxItem]:
    """In the inference job's transaction that stores the model's result."""
    settings = services.settings
    if not settings.pacs_send_preliminary or not await _sends(db, settings, case):
        return []
    return await _queue(db, services, case, RESULT, f"model-{case.model_version}", None)


async def kick(services: Services, case_id: str, event: str) -> None:
    """After the commit that queued rows (_queue registers it): have the worker send them now
    rather than at the next sweep. Best effort: with Redis down the sweep sends them."""
    try:
        await services.queue.enqueue(SEND_JOB, case_id, job_id=f"pacs:{case_id}:{event}")
    except DependencyUnavailable as e:
        log.warning("results queued, not kicked", extra={"case_id": case_id, "reason": str(e)})
