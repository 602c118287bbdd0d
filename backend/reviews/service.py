"""Review rules: reviewers and admins review done cases; reviews are appended, never changed,
and the case keeps the latest decision as its review_state."""

from __future__ import annotations

from litestar.exceptions import ValidationException
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.cases.service import visible_case
from backend.http.auth import Principal
from backend.http.errors import Conflict
from backend.platform.db import utcnow
from backend.reviews import repository as repo
from backend.reviews.models import Review
from backend.reviews.schemas import ReviewIn

REVIEW_STATES = {"accept": "accepted", "edit": "edited", "reject": "rejected"}


async def add_review(db: AsyncSession, ctx: AuditContext, user: Principal, case_id: str,
                     data: ReviewIn) -> Review:
    case = await visible_case(db, user, case_id)
    if case.status != "done":
        raise Conflict(f"Only finished cases can be reviewed; this case is {case.status}.")
    findings = (data.findings_text or "").strip() or None
    if data.decision == "edit" and findings is None:
        raise ValidationException(
            "findings_text is required when the decision is edit.",
            extra=[{"key": "findings_text", "message": "required for edit", "source": "body"}])
    review = repo.add(db, Review(case_id=case.id, reviewer_id=user.id, decision=data.decision,
                                 findings_text=findings if data.decision == "edit" else None,
                                 comment=(data.comment or "").strip() or None))
    case.review_state = REVIEW_STATES[data.decision]
    case.updated_at = utcnow()
    db.add(case)
    await db.flush()
    audit.record(db, ctx, audit.REVIEW_CREATE, "case", case.id,
                 {"review_id": review.id, "decision": data.decision})
    return review
