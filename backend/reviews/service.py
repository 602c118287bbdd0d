"""Review rules: reviewers and admins review done cases; reviews are appended, never changed,
and the case keeps the latest decision as its review_state. A reviewer may correct the zone
flags too; the correction is stored on the review, beside the model's flags on the case."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.principal import Principal
from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.cases.enums import CaseStatus
from backend.cases.service import IMAGE_MISSING, image_missing, visible_case
from backend.errors import Conflict, Invalid
from backend.pacs_outbox.queue import queue_review
from backend.platform.db import utcnow
from backend.platform.services import Services
from backend.reviews import repository as repo
from backend.reviews.enums import ReviewDecision
from backend.reviews.models import Review
from backend.reviews.outcome import zone_dict
from backend.reviews.schemas import ReviewIn
from inference.sides import sentence


def _refuse(field: str, message: str) -> Invalid:
    return Invalid.field("body", message, field)


async def add_review(
    db: AsyncSession,
    services: Services,
    ctx: AuditContext,
    user: Principal,
    case_id: str,
    data: ReviewIn,
) -> Review:
    """Refused (409) unless the case is done and its film is still stored: nobody signs off
    findings on an image they cannot see. For a case from a PACS, what the review decides is
    queued for the PACS in the same transaction (backend.pacs_outbox.queue), and the sender is
    kicked once it has committed."""
    case = await visible_case(db, user, case_id)
    if case.status != CaseStatus.DONE:
        raise Conflict(f"Only finished cases can be reviewed; this case is {case.status}.")
    if await image_missing(services, case):
        raise Conflict(f"This case cannot be reviewed: {IMAGE_MISSING}")
    findings = (data.findings_text or "").strip() or None
    flags = data.zone_flags.as_dict() if data.zone_flags is not None else None
    edit = data.decision == ReviewDecision.EDIT
    if (
        data.decision == ReviewDecision.ACCEPT
        and flags is not None
        and flags != zone_dict(case.zone_flags)
    ):
        raise _refuse(
            "zone_flags", "accept keeps the model's zone flags; use edit to correct them."
        )
    if edit and findings is None:
        if flags is None:
            raise _refuse(
                "findings_text",
                "findings_text (or zone_flags) is required when the decision is edit.",
            )
        findings = sentence(flags, lesion_present=False)
    review = repo.add(
        db,
        Review(
            case_id=case.id,
            reviewer_id=user.id,
            decision=data.decision,
            findings_text=findings if edit else None,
            comment=(data.comment or "").strip() or None,
            zone_flags=flags,
        ),
    )
    case.review_state = data.decision.state
    case.updated_at = utcnow()
    db.add(case)
    await db.flush()
    audit.record(
        db,
        ctx,
        audit.REVIEW_CREATE,
        "case",
        case.id,
        {
            "review_id": review.id,
            "decision": data.decision,
            "zone_flags_corrected": flags is not None and flags != zone_dict(case.zone_flags),
        },
    )
    await queue_review(db, services, case, review)
    return review
