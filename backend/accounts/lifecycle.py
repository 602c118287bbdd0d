"""What ends a sign-in session or a personal API token: its kind's maximum lifetime, the per-user
caps, and revocation (by its user, an admin, a password change, a deactivation). A revoked token
stays revoked: nothing here or elsewhere clears revoked_at. Never commits."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import repository as repo
from backend.accounts.models import ApiToken, User
from backend.accounts.principal import Principal
from backend.accounts.repository import Liveness
from backend.accounts.tokens import hash_token, new_token, token_prefix
from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.settings import Settings

SESSION, PERSONAL = "session", "personal"
KINDS = (SESSION, PERSONAL)
USER_AGENT_MAX = 200


class TokenRefused(ValueError):
    """A token request that breaks a rule (400); `field` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class TooManyTokens(Exception):
    """The user already has as many live personal tokens as allowed (409)."""


class CurrentSession(Exception):
    """A request to end the session it was made with: that is signing out (409)."""


@dataclass
class IssuedToken:
    token: str  # the secret, shown once
    record: ApiToken


def max_lifetime(kind: str, settings: Settings) -> timedelta:
    if kind == PERSONAL:
        return timedelta(days=settings.personal_token_max_days)
    return timedelta(hours=settings.session_ttl_hours)


def expiry(record: ApiToken, settings: Settings) -> datetime:
    """When the token ends at the latest: its stored expiry, capped at creation plus its kind's
    maximum (tokens stored without an expiry, or before the maximum was lowered)."""
    limit = record.created_at + max_lifetime(record.kind, settings)
    return limit if record.expires_at is None else min(record.expires_at, limit)


def liveness(settings: Settings, now: datetime) -> Liveness:
    return Liveness(now, {kind: now - max_lifetime(kind, settings) for kind in KINDS})


def clean_user_agent(value: str | None) -> str | None:
    """The User-Agent as shown back to its user: no control or format characters (NUL, bidi
    overrides), at most USER_AGENT_MAX characters, None when nothing is left."""
    if not value:
        return None
    kept = "".join(c for c in value if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    return kept.strip()[:USER_AGENT_MAX] or None


def issue(
    session: AsyncSession,
    ctx: AuditContext | None,
    user: User,
    kind: str,
    name: str,
    expires_at: datetime,
    user_agent: str | None = None,
) -> IssuedToken:
    assert user.id is not None
    secret = new_token()
    record = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=hash_token(secret),
        prefix=token_prefix(secret),
        expires_at=expires_at,
        client_addr=ctx.client_addr[:64] if ctx and ctx.client_addr else None,
        user_agent=clean_user_agent(user_agent),
    )
    session.add(record)
    return IssuedToken(secret, record)


def _revoke(
    session: AsyncSession,
    ctx: AuditContext | None,
    record: ApiToken,
    now: datetime,
    reason: str,
    user: User | None = None,
) -> None:
    """Revoke one token and audit it; `user` names the actor where the context has none (a
    sign-in ending the oldest session)."""
    record.revoked_at = now
    session.add(record)
    audit.record(
        session,
        ctx,
        audit.TOKEN_REVOKE,
        "token",
        record.id,
        {"user_id": record.user_id, "kind": record.kind, "reason": reason},
        user_id=user.id if user else None,
        role=user.role if user else None,
    )


async def open_session(
    session: AsyncSession,
    ctx: AuditContext,
    settings: Settings,
    user: User,
    now: datetime,
    user_agent: str | None,
) -> IssuedToken:
    """A new sign-in session; past sessions_per_user the user's oldest live ones end."""
    assert user.id is not None
    live = await repo.live_tokens(session, user.id, liveness(settings, now), SESSION)
    for record in live[: max(0, len(live) - settings.sessions_per_user + 1)]:
        _revoke(session, ctx, record, now, "session_limit", user=user)
    return issue(
        session, ctx, user, SESSION, "sign-in", now + max_lifetime(SESSION, settings), user_agent
    )


async def create_personal_token(
    session: AsyncSession,
    ctx: AuditContext,
    settings: Settings,
    principal: Principal,
    name: str,
    expires_in_days: int | None,
    now: datetime,
    user_agent: str | None = None,
) -> IssuedToken:
    """A named API token that lives expires_in_days (at most, and by default,
    personal_token_max_days); refused past personal_tokens_per_user live ones."""
    most = settings.personal_token_max_days
    if expires_in_days is not None and not 1 <= expires_in_days <= most:
        raise TokenRefused(
            "expires_in_days",
            f"Invalid expires_in_days: a personal API token lives from 1 to {most} days.",
        )
    user = await repo.get_user(session, principal.id)
    if user is None:
        raise LookupError("The user no longer exists.")
    live = await repo.live_tokens(session, principal.id, liveness(settings, now), PERSONAL)
    cap = settings.personal_tokens_per_user
    if len(live) >= cap:
        raise TooManyTokens(
            f"You already have {cap} live personal API tokens, the most allowed; "
            "revoke one you no longer use first."
        )
    issued = issue(
        session,
        ctx,
        user,
        PERSONAL,
        name.strip(),
        now + timedelta(days=expires_in_days or most),
        user_agent,
    )
    await session.flush()
    audit.record(
        session,
        ctx,
        audit.TOKEN_CREATE,
        "token",
        issued.record.id,
        {
            "name": name,
            "expires_at": issued.record.expires_at.isoformat()
            if issued.record.expires_at
            else None,
        },
    )
    return issued


async def revoke_all(
    session: AsyncSession,
    ctx: AuditContext,
    user_id: int,
    reason: str,
    now: datetime,
    *,
    kind: str | None = None,
    keep_token_id: int | None = None,
) -> int:
    """Revoke every token of a user (of one kind, if given) but `keep_token_id`; each live one
    is audited. Returns how many live ones ended."""
    live = [
        t
        for t in await repo.live_tokens(session, user_id, Liveness(now, {}), kind)
        if t.id != keep_token_id
    ]
    for record in live:
        _revoke(session, ctx, record, now, reason)
    await repo.revoke_unrevoked(session, user_id, now, kind, keep_token_id)
    return len(live)


async def revoke_one(
    session: AsyncSession,
    ctx: AuditContext,
    user_id: int,
    token_id: int,
    reason: str,
    now: datetime,
    kind: str | None = None,
) -> ApiToken | None:
    """Revoke one of a user's tokens (of that kind, if given); None if there is no such token.
    Revoking a revoked one changes nothing."""
    record = await repo.get_token(session, token_id, user_id)
    if record is None or (kind is not None and record.kind != kind):
        return None
    if record.revoked_at is None:
        _revoke(session, ctx, record, now, reason)
    return record


async def end_session(
    session: AsyncSession, ctx: AuditContext, principal: Principal, token_id: int, now: datetime
) -> ApiToken | None:
    """End one of the caller's other sign-in sessions."""
    if token_id == principal.token_id:
        raise CurrentSession(
            "This is the session you are using; sign out with POST /api/auth/logout instead."
        )
    return await revoke_one(session, ctx, principal.id, token_id, "user", now, kind=SESSION)


async def live_sessions(
    session: AsyncSession, settings: Settings, user_id: int, now: datetime
) -> list[ApiToken]:
    """The user's live sign-in sessions, newest first."""
    rows = await repo.live_tokens(session, user_id, liveness(settings, now), SESSION)
    return rows[::-1]
