"""The audit log's filters as a person gives them: an action from the known list, a user by
email or id, a time range. Each is checked here, so a typo or an inverted range is a 400 that
names the parameter instead of an empty page that reads as "nothing happened"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import repository as accounts_repo
from backend.accounts.service import normalize_email
from backend.admin import audit
from backend.admin import repository as repo
from backend.admin.repository import AuditQuery
from backend.errors import Invalid
from backend.platform.instants import utc

ACTIONS_PATH = "/api/admin/audit/actions"


@dataclass(frozen=True)
class AuditFilters:
    """The query parameters shared by GET /api/admin/audit and /api/admin/audit.csv."""

    action: str | None = None
    user_id: int | None = None
    user_email: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    case_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _refuse(message: str, *keys: str) -> Invalid:
    return Invalid.field("query", message, *keys)


async def known_actions(db: AsyncSession) -> dict[str, str]:
    """Action name -> description: the ones the code records, and any other the log holds."""
    found = dict(audit.ACTIONS)
    for name in await repo.recorded_actions(db):
        found.setdefault(name, "")
    return dict(sorted(found.items()))


async def resolve(
    db: AsyncSession, f: AuditFilters, limit: int = 50, offset: int = 0
) -> AuditQuery:
    """The repository's query for these filters, or an Invalid naming the
    parameter (an unknown action or email, an email and an id of different users, a range
    that ends before it starts)."""
    since, until = utc(f.since, "since"), utc(f.until, "until")
    if since is not None and until is not None and since > until:
        raise _refuse(
            f"The range ends before it starts: since ({since.isoformat()}) is after "
            f"until ({until.isoformat()}).",
            "since",
            "until",
        )
    action = f.action.strip() if f.action else None
    if action and action not in audit.ACTIONS and action not in await repo.recorded_actions(db):
        raise _refuse(
            f"Unknown action {action!r}; GET {ACTIONS_PATH} lists the actions the log records.",
            "action",
        )
    user_id = f.user_id
    if f.user_email is not None and f.user_email.strip():
        email = normalize_email(f.user_email)
        user = await accounts_repo.get_user_by_email(db, email)
        if user is None:
            raise _refuse(f"No user has the email {email!r}.", "user_email")
        if user_id is not None and user_id != user.id:
            raise _refuse(
                f"user_id {user_id} and user_email {email!r} name different users; "
                "give one of them.",
                "user_id",
                "user_email",
            )
        user_id = user.id
    return AuditQuery(
        action=action,
        user_id=user_id,
        object_type=f.object_type,
        object_id=f.object_id,
        case_id=f.case_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
