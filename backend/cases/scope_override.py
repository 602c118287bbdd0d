"""A reviewer's override of the scope gate: the film is analysed as a chest film after all.

The scope gate refuses what does not look like a frontal chest radiograph (status
out_of_scope); a reviewer who sees that it is one (an unusual header, an odd exposure) gives a
reason, the case is queued again and the worker skips the gate for it. Audited."""

from __future__ import annotations

from typing import Annotated

import msgspec
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.principal import Principal
from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.cases.enums import CaseStatus
from backend.cases.models import Case
from backend.cases.service import enqueue_after_commit, visible_case
from backend.errors import Conflict, Invalid
from backend.platform.db import utcnow
from backend.platform.services import Services


class ScopeOverrideIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the film is a frontal chest radiograph after all (shown in the audit trail)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


async def override_scope(
    db: AsyncSession,
    services: Services,
    ctx: AuditContext,
    user: Principal,
    case_id: str,
    data: ScopeOverrideIn,
) -> Case:
    """409 unless the case is out_of_scope; queued again, its job enqueued after the commit."""
    case = await visible_case(db, user, case_id)
    reason = data.reason.strip()
    if not reason:
        raise Invalid("A reason is required to analyse an out-of-scope film.")
    if case.status != CaseStatus.OUT_OF_SCOPE:
        raise Conflict(f"Only out-of-scope cases can be overridden; this case is {case.status}.")
    refused_because = case.scope_reason
    now = utcnow()
    case.scope_override_reason = reason
    case.status, case.updated_at, case.finished_at = CaseStatus.QUEUED, now, None
    db.add(case)
    audit.record(
        db,
        ctx,
        audit.CASE_SCOPE_OVERRIDE,
        "case",
        case.id,
        {"reason": reason, "scope_reason": refused_because},
    )
    enqueue_after_commit(db, services, case, attempt=max(1, case.attempts))
    return case
