"""Recording audit events. The event joins the caller's unit of work: it is committed with the
change it describes, or not at all (a failed sign-in commits its own)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.admin.models import AuditEvent
from backend.admin.repository import recent_event_exists
from backend.platform.db import utcnow


class AuditContext(Protocol):
    """What audit needs from a request (backend.http.deps.RequestCtx provides it)."""

    @property
    def user_id(self) -> int | None: ...
    @property
    def role(self) -> str | None: ...
    @property
    def client_addr(self) -> str | None: ...
    @property
    def request_id(self) -> str: ...


# Actions, named <object>.<verb>; the admin audit page filters on them (ACTIONS lists them).
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
SIGN_OUT = "auth.sign_out"
PASSWORD_CHANGE = "auth.password_change"  # a user changed their own password
PASSWORD_CHANGE_FAILED = "auth.password_change_failed"  # wrong current password, or locked
TOKEN_CREATE = "token.create"
TOKEN_REVOKE = "token.revoke"
CASE_UPLOAD = "case.upload"
CASE_VIEW = "case.view"
CASE_DOWNLOAD = "case.download"
REVIEW_CREATE = "review.create"
REPORT_DOWNLOAD = "report.download"  # detail: {"format": pdf | fhir | seg | sr}
USER_CREATE = "user.create"
USER_UPDATE = "user.update"
AUDIT_EXPORT = "audit.export"
DATASET_EXPORT = "dataset.export"
MODEL_REGISTER = "model.register"
MODEL_ACTIVATE = "model.activate"
MODEL_SHADOW = "model.shadow"
MODEL_RETIRE = "model.retire"
# recorded by `medsegtext deidentify-stored` (backend.cases.backfill)
CASE_DEIDENTIFY_STORED = "case.deidentify_stored"
CASE_QUARANTINE = "case.quarantine"
CASE_SCOPE_OVERRIDE = "case.scope_override"  # a reviewer: analyse an out-of-scope film anyway
# the identity map (backend.identity_map): detail {"purpose": "admin" | "send", ...}
IDENTITY_READ = "identity.read"
# results sent to the PACS (backend.pacs_outbox): detail {"destination", "objects": [...]}
PACS_SEND = "pacs.send"
# a reviewer or admin searched the PACS / imported a study (backend.pacs_query): detail names
# the criteria used (not their values) and the counts
PACS_QUERY = "pacs.query"
PACS_IMPORT = "pacs.import"

# Every action any code records, with what it means (GET /api/admin/audit/actions).
ACTIONS: dict[str, str] = {
    SIGN_IN: "Signed in",
    SIGN_IN_FAILED: "Sign-in refused (wrong password, unknown email, inactive or locked)",
    SIGN_OUT: "Signed out",
    PASSWORD_CHANGE: "Changed their own password (their other sessions and tokens ended)",
    PASSWORD_CHANGE_FAILED: "Password change refused: wrong current password or locked",
    TOKEN_CREATE: "Created a personal API token",
    TOKEN_REVOKE: "A session or token ended (sign-out elsewhere, admin, password change, "
    "deactivation, session limit)",
    CASE_UPLOAD: "Uploaded a case",
    CASE_VIEW: "Viewed a case",
    CASE_DOWNLOAD: "Downloaded a case's image, mask or overlay",
    REVIEW_CREATE: "Reviewed a case (accept, edit or reject)",
    REPORT_DOWNLOAD: "Downloaded a report (PDF, FHIR, DICOM SEG or SR)",
    USER_CREATE: "Created a user",
    USER_UPDATE: "Changed a user (role, activity, name, or an admin's password reset)",
    AUDIT_EXPORT: "Exported the audit log as CSV",
    DATASET_EXPORT: "Exported reviewed cases as a data set",
    MODEL_REGISTER: "Registered a model version",
    MODEL_ACTIVATE: "Activated a model version",
    MODEL_SHADOW: "Set a model version to shadow",
    MODEL_RETIRE: "Retired a model version",
    CASE_DEIDENTIFY_STORED: "Re-de-identified a stored film (maintenance command)",
    CASE_QUARANTINE: "Quarantined a film with burned-in annotation (maintenance command)",
    CASE_SCOPE_OVERRIDE: "Overrode the scope gate: an out-of-scope film is analysed anyway",
    IDENTITY_READ: "Read a PACS case's original patient identifiers (an admin, or the PACS "
    "sender before sending results)",
    PACS_SEND: "Sent a case's results (SEG, SR, overlay) to the PACS, re-identified",
    PACS_QUERY: "Searched the PACS for studies (by patient ID, accession number or date)",
    PACS_IMPORT: "Imported a study from the PACS (the PACS sent it to the DICOM node)",
}


def record(
    session: AsyncSession,
    ctx: AuditContext | None,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
    *,
    user_id: int | None = None,
    role: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session; user_id/role override the context's (sign-in)."""
    event = AuditEvent(
        user_id=user_id if user_id is not None else (ctx.user_id if ctx else None),
        role=role if role is not None else (ctx.role if ctx else None),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        client_addr=ctx.client_addr if ctx else None,
        request_id=ctx.request_id if ctx else None,
        detail=detail,
    )
    session.add(event)
    return event


async def record_view(
    session: AsyncSession,
    ctx: AuditContext,
    object_type: str,
    object_id: str,
    window: timedelta = timedelta(minutes=5),
) -> None:
    """Record a view unless the same user viewed the same object within `window`: the UI polls
    a queued case every few seconds, and one event per look is what an auditor wants."""
    if not await recent_event_exists(
        session, action=CASE_VIEW, user_id=ctx.user_id, object_id=object_id, since=utcnow() - window
    ):
        record(session, ctx, CASE_VIEW, object_type, object_id)
