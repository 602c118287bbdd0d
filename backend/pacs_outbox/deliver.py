"""Sending what is due: claim the rows, read the identity (an audited read, committed before
anything is sent), build the objects, C-STORE them, record each answer.

A row the PACS stored is marked sent. A row that could not be sent (the PACS down, rejecting,
refusing the instance; a store of ours down; the identity key wrong) waits
pacs_retry_base_seconds x 2^(tries-1), at most pacs_retry_cap_seconds, and is tried again, for
as long as it takes: nothing is dropped. Only a row that can never be built (its case
withdrawn, its stored film or mask gone) is marked failed, with the reason.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import timedelta
from itertools import groupby
from typing import TYPE_CHECKING

import anyio.to_thread
from pydicom.dataset import Dataset
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.adapters.errors import ObjectMissing
from backend.admin import audit
from backend.cases.models import Case
from backend.identity_map import service as identities
from backend.identity_map.sealing import KeyMismatch
from backend.identity_map.service import SEND, SystemCtx
from backend.pacs_outbox import repository as repo
from backend.pacs_outbox import scu
from backend.pacs_outbox.models import Kind, OutboxItem, OutboxStatus
from backend.platform.db import transaction, utcnow
from backend.platform.retry import DEPENDENCY_ERRORS, backoff_seconds
from backend.platform.services import Services
from backend.reports.context import ReportData
from backend.reviews.models import Review
from backend.reviews.outcome import outcome_of

if TYPE_CHECKING:
    from backend.pacs_outbox.objects import Sources

log = logging.getLogger("medsegtext.pacs_outbox")
BATCH = 50  # rows claimed per pass
# worth another try later: the PACS away, a store of ours down, the wrong identity key set
RETRIED: tuple[type[BaseException], ...] = (scu.Unreachable, KeyMismatch, *DEPENDENCY_ERRORS)
ERROR_MAX = 500  # OutboxItem.last_error


class Permanent(RuntimeError):
    """The rows can never be built; the reason is kept on them."""


def _lease(services: Services) -> timedelta:
    """How long a claim holds: past every timeout of one batch's association."""
    return timedelta(seconds=120 + 4 * services.settings.pacs_timeout_seconds)


async def deliver_due(services: Services, case_id: str | None = None) -> dict[str, int]:
    """Send the rows that are due (of one case, or of all), one association per case.
    Returns how many were sent, deferred and failed."""
    settings = services.settings
    counts: Counter[str] = Counter()
    if not settings.pacs_ae_title:
        return {}
    token, now = uuid.uuid4().hex, utcnow()
    async with transaction(services.sessions) as db:
        items = await repo.claim_due(
            db, settings.pacs_ae_title, now, now + _lease(services), token, case_id, BATCH
        )
    for cid, group in groupby(
        sorted(items, key=lambda i: (i.case_id, i.id or 0)), key=lambda i: i.case_id
    ):
        counts.update(await _deliver_case(services, cid, list(group), token))
    return dict(counts)


async def _report(db: AsyncSession, case: Case, review_id: int | None) -> ReportData:
    """The result a row states: its review's (or, preliminary, the model's alone)."""
    review = await db.get(Review, review_id) if review_id is not None else None
    reviewer = await db.get(User, review.reviewer_id) if review is not None else None
    return ReportData(case, outcome_of(case, review, reviewer), utcnow())


async def _prepare(
    services: Services, case_id: str, items: list[OutboxItem], token: str
) -> tuple[Sources, dict[int, ReportData]]:
    """What the case's objects are built from and the result each row states; the
    identity read is audited and committed here, before anything leaves."""
    ctx = SystemCtx(request_id=f"pacs-send-{token[:16]}")
    async with transaction(services.sessions) as db:
        case = await db.get(Case, case_id)
        if case is None or case.quarantined_at is not None:
            raise Permanent("the case was withdrawn" if case else "the case no longer exists")
        found = await identities.read(
            db, services.settings, ctx, case_id, SEND, outbox_ids=[i.id for i in items]
        )
        if found is None:
            raise Permanent("the case has no identity: it did not come from a PACS")
        reports = {i.id or 0: await _report(db, case, i.review_id) for i in items}
    from backend.pacs_outbox.objects import Sources  # highdicom: loaded on first send

    kinds = {i.kind for i in items}
    try:
        film = await services.store.get(case.image_key)
    except ObjectMissing as e:
        raise Permanent(f"the stored film is missing ({e.key})") from None
    mask = await _optional(services, case.mask_key if Kind.SEG in kinds else None)
    overlay = await _optional(services, case.overlay_key if Kind.SC in kinds else None)
    return Sources(film, mask, overlay, found[1]), reports


async def _optional(services: Services, key: str | None) -> bytes | None:
    if not key:
        return None
    try:
        return await services.store.get(key)
    except ObjectMissing:
        return None  # the object that needs it fails alone (NotExportable)


def _build_all(
    items: list[OutboxItem], reports: dict[int, ReportData], sources: Sources
) -> list[Dataset | str]:
    """Each row's object, or why it cannot be built."""
    from backend.pacs_outbox.objects import build  # highdicom, as above: on first send
    from backend.reports.dicom_export import NotExportable

    out: list[Dataset | str] = []
    for item in items:
        try:
            out.append(build(item, reports[item.id or 0], sources))
        except NotExportable as e:
            out.append(str(e))
        except Exception as e:  # a bug, or data highdicom refuses: building again won't help
            log.exception("result cannot be built", extra={"outbox_id": item.id})
            out.append(f"the object cannot be built: {e}")
    return out


async def _deliver_case(
    services: Services, case_id: str, items: list[OutboxItem], token: str
) -> Counter[str]:
    settings = services.settings
    outcome: dict[int, tuple[str, str]] = {}  # row id -> (status or "retry", detail)
    try:
        sources, reports = await _prepare(services, case_id, items, token)
        built = await anyio.to_thread.run_sync(_build_all, items, reports, sources)
        to_send = [(i, b) for i, b in zip(items, built, strict=True) if isinstance(b, Dataset)]
        for item, b in zip(items, built, strict=True):
            if isinstance(b, str):
                outcome[item.id or 0] = (OutboxStatus.FAILED, b)
        if to_send:
            answers = await anyio.to_thread.run_sync(scu.store, settings, [b for _, b in to_send])
            for (item, _), answer in zip(to_send, answers, strict=True):
                outcome[item.id or 0] = (
                    (OutboxStatus.SENT, answer.detail)
                    if answer.stored
                    else ("retry", f"the PACS did not store it: {answer.detail}")
                )
    except Permanent as e:
        outcome = {i.id or 0: (OutboxStatus.FAILED, str(e)) for i in items}
    except RETRIED as e:
        outcome = {i.id or 0: ("retry", str(e) or type(e).__name__) for i in items}
    except Exception as e:  # unforeseen (pynetdicom, a store): keep the rows, try again later
        log.exception("results not sent", extra={"case_id": case_id})
        outcome = {i.id or 0: ("retry", f"unexpected error: {e!r}") for i in items}
    return await _record(services, case_id, token, outcome)


async def _record(
    services: Services, case_id: str, token: str, outcome: dict[int, tuple[str, str]]
) -> Counter[str]:
    """Write each answer on the rows this sender still holds (a claim that expired meanwhile
    is another sender's now: it sends again, with the same UIDs)."""
    s, counts, now, sent = services.settings, Counter[str](), utcnow(), []
    async with transaction(services.sessions) as db:
        for item in await repo.held(db, token):
            if item.id not in outcome:
                continue
            status, detail = outcome[item.id]
            item.attempts += 1
            item.claim = item.claimed_until = None
            if status == OutboxStatus.SENT:
                item.status, item.sent_at, item.last_error = OutboxStatus.SENT, now, None
                sent.append(
                    {
                        "kind": item.kind,
                        "version": item.version,
                        "sop_instance_uid": item.sop_instance_uid,
                    }
                )
                counts["sent"] += 1
                continue
            item.last_error = detail[:ERROR_MAX]
            if status == OutboxStatus.FAILED:
                item.status = OutboxStatus.FAILED
                counts["failed"] += 1
                log.error(
                    "result not sendable",
                    extra={"case_id": case_id, "outbox_id": item.id, "reason": detail},
                )
                continue
            delay = backoff_seconds(
                item.attempts, s.pacs_retry_base_seconds, s.pacs_retry_cap_seconds
            )
            item.next_attempt_at = now + timedelta(seconds=delay)
            counts["retry"] += 1
            log.warning(
                "result not sent; will retry",
                extra={
                    "case_id": case_id,
                    "outbox_id": item.id,
                    "attempts": item.attempts,
                    "retry_in_s": delay,
                    "reason": detail,
                },
            )
        if sent:
            audit.record(
                db,
                SystemCtx(request_id=f"pacs-send-{token[:16]}"),
                audit.PACS_SEND,
                "case",
                case_id,
                {"destination": scu.destination(s), "objects": sent},
            )
            log.info("results sent to the PACS", extra={"case_id": case_id, "objects": sent})
    return counts
