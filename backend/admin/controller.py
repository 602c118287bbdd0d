"""/api/admin/*: users, audit log and dashboard statistics (admin role only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from backend.accounts import repository as accounts_repo
from backend.accounts import service as accounts
from backend.accounts.enums import Role
from backend.accounts.passwords import PasswordPolicyError
from backend.accounts.schemas import UserCreateIn, UserOut, UserPage, UserPatchIn
from backend.admin import audit as audit_log
from backend.admin import repository as repo
from backend.admin import service
from backend.admin.audit_csv import stream_csv
from backend.admin.audit_filters import ACTIONS_PATH, AuditFilters, known_actions, resolve
from backend.admin.schemas import AuditActionOut, AuditOut, AuditPage, Stats
from backend.errors import Conflict
from backend.http.deps import Ctx, CurrentUser, Db, Svc
from backend.http.guards import ADMINS
from backend.http.openapi import refuses
from backend.http.params import Limit, Offset, PathId, QueryId


def _refuse(e: accounts.AccountError | PasswordPolicyError) -> Exception:
    if isinstance(e, accounts.DuplicateEmail):
        return Conflict(str(e))
    return ValidationException(str(e))


OWN_PASSWORD = (
    "To change your own password use POST /api/auth/password, which asks for the "
    "current one; an admin's reset is for other users."
)

# The audit filters, shared by /audit and /audit.csv.
Action = Annotated[
    str | None,
    QueryParameter(
        max_length=50,
        description=(
            f"One action name, as listed by GET {ACTIONS_PATH}; an unknown name is a 400."
        ),
    ),
]
UserEmail = Annotated[
    str | None,
    QueryParameter(
        max_length=254,
        description=(
            "The acting user's email (any case); a 400 when no user has it, or when user_id names "
            "someone else."
        ),
    ),
]
Since = Annotated[
    datetime | None,
    QueryParameter(description=("Events at or after this instant (no offset means UTC).")),
]
Until = Annotated[
    datetime | None,
    QueryParameter(description=("Events at or before this instant; before `since` is a 400.")),
]


class AdminController(Controller):
    path = "/api/admin"
    tags = ("admin",)
    guards = (ADMINS,)

    @get("/users")
    async def list_users(
        self,
        db: Db,
        q: FromQuery[str | None] = None,
        role: FromQuery[Role | None] = None,
        is_active: FromQuery[bool | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> UserPage:
        """List users.

        Filtered by text (in email or name), role and activity, paged. An unknown role is a
        400 naming the parameter."""
        rows, total = await accounts_repo.list_users(
            db, q=q, role=role, is_active=is_active, limit=limit, offset=offset
        )
        return UserPage([UserOut.of(u) for u in rows], total, limit, offset)

    @post("/users", responses=refuses(409))
    async def create_user(self, data: JSONBody[UserCreateIn], db: Db, ctx: Ctx) -> UserOut:
        """Create a user.

        Email, password, role and name (201, audited). 409 if the email is taken; 400 if the
        password does not meet the policy."""
        try:
            user = await accounts.create_user(
                db,
                ctx,
                email=data.email,
                password=data.password,
                role=data.role,
                full_name=data.full_name,
            )
        except (accounts.AccountError, PasswordPolicyError) as e:
            raise _refuse(e) from None
        return UserOut.of(user)

    @patch("/users/{user_id:int}")
    async def update_user(
        self, user_id: PathId, data: JSONBody[UserPatchIn], db: Db, ctx: Ctx, user: CurrentUser
    ) -> UserOut:
        """Change a user's role, activity, name or password.

        A new password (an admin's reset), a deactivation or a reactivation ends every
        sign-in session and personal API token of that user at once. An admin cannot change
        their own role, deactivate themself, or reset their own password here (POST
        /api/auth/password asks for the current one): each is a 400. 404 for an unknown
        user."""
        target = await accounts_repo.get_user(db, user_id)
        if target is None:
            raise NotFoundException(f"No user {user_id}.")
        if data.password is not None and target.id == user.id:
            raise ValidationException(
                OWN_PASSWORD, extra=[{"key": "password", "message": OWN_PASSWORD, "source": "body"}]
            )
        try:
            await accounts.update_user(
                db,
                ctx,
                user,
                target,
                role=data.role,
                is_active=data.is_active,
                full_name=data.full_name,
                password=data.password,
            )
        except (accounts.AccountError, PasswordPolicyError) as e:
            raise _refuse(e) from None
        return UserOut.of(target)

    @get("/audit")
    async def audit(
        self,
        db: Db,
        action: Action = None,
        user_id: QueryId = None,
        user_email: UserEmail = None,
        object_type: FromQuery[str | None] = None,
        object_id: FromQuery[str | None] = None,
        case_id: FromQuery[str | None] = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> AuditPage:
        """Search the audit log.

        Events newest first, filtered by action, user (id or email), object or case, and
        time, paged. An unknown action or email, or a range that ends before it starts, is a
        400 naming the parameter. Read only: no API changes or deletes an event."""
        query = await resolve(
            db,
            AuditFilters(
                action, user_id, user_email, object_type, object_id, case_id, since, until
            ),
            limit=limit,
            offset=offset,
        )
        rows, total = await repo.search_audit(db, query)
        return AuditPage([AuditOut.of(e, email) for e, email in rows], total, limit, offset)

    @get("/audit/actions")
    async def audit_actions(self, db: Db) -> list[AuditActionOut]:
        """List the audit actions.

        The action names the audit log can be filtered on, sorted, each with what it records:
        every action this version records, and any other the log holds."""
        return [
            AuditActionOut(name, description)
            for name, description in (await known_actions(db)).items()
        ]

    @get("/audit.csv", media_type="text/csv")
    async def audit_csv(
        self,
        db: Db,
        services: Svc,
        ctx: Ctx,
        action: Action = None,
        user_id: QueryId = None,
        user_email: UserEmail = None,
        object_type: FromQuery[str | None] = None,
        object_id: FromQuery[str | None] = None,
        case_id: FromQuery[str | None] = None,
        since: Since = None,
        until: Until = None,
    ) -> Stream:
        """Export the audit log as CSV.

        Every matching event, newest first, with the same filters and refusals as
        /api/admin/audit but no paging. The export is itself audited."""
        query = await resolve(
            db,
            AuditFilters(
                action, user_id, user_email, object_type, object_id, case_id, since, until
            ),
        )
        filters = {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in query.__dict__.items()
            if v is not None and k not in ("limit", "offset")
        }
        audit_log.record(db, ctx, audit_log.AUDIT_EXPORT, "audit", None, {"filters": filters})
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return Stream(
            stream_csv(services.sessions, query),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
                "Cache-Control": "private, no-store",
            },
        )

    @get("/stats")
    async def stats(self, db: Db, services: Svc) -> Stats:
        """Dashboard statistics.

        Cases per status, queue depth (null if Redis is down), turnaround p50/p95, failure
        rate, the share of reviewed cases accepted unedited, and per model version that
        produced shown results: accepted-unedited share and zone F1 against the reviewers."""
        return await service.stats(db, services)


CONTROLLERS = [AdminController]
