"""Sign-in, tokens and user management rules. Never commits: the caller's unit of work does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import repository as repo
from backend.accounts import throttle
from backend.accounts.models import ROLES, ApiToken, User
from backend.accounts.passwords import (
    burn_verify_time,
    check_policy,
    hash_password,
    run_argon2,
    verify_password,
)
from backend.accounts.tokens import hash_token, new_token, token_prefix
from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.http.auth import Principal
from backend.platform.db import utcnow
from backend.settings import Settings

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_TOUCH_EVERY = timedelta(seconds=60)


class LoginFailed(Exception):
    """Unknown email, wrong password or inactive account: one message for all (no enumeration)."""


class LoginLocked(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"locked for {retry_after} s")
        self.retry_after = retry_after


class AccountError(ValueError):
    """A user-management request that breaks a rule; the message is shown to the admin."""


class DuplicateEmail(AccountError):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


def principal_for(user: User, token: ApiToken) -> Principal:
    assert user.id is not None and token.id is not None
    return Principal(id=user.id, email=user.email, role=user.role, full_name=user.full_name,
                     token_id=token.id, token_kind=token.kind)


@dataclass
class IssuedToken:
    token: str  # the secret, shown once
    record: ApiToken


def _issue(session: AsyncSession, user: User, kind: str, name: str,
           expires_at: datetime | None) -> IssuedToken:
    assert user.id is not None
    secret = new_token()
    record = ApiToken(user_id=user.id, kind=kind, name=name, token_hash=hash_token(secret),
                      prefix=token_prefix(secret), expires_at=expires_at)
    session.add(record)
    return IssuedToken(secret, record)


async def login(session: AsyncSession, ctx: AuditContext, settings: Settings,
                email: str, password: str) -> tuple[IssuedToken, User]:
    """Check the credentials and open a session token; failures are counted and audited."""
    email = normalize_email(email)
    now = utcnow()
    user = await repo.get_user_by_email(session, email)
    if user is None:
        if retry := await throttle.locked_for(session, email, now):
            audit.record(session, ctx, audit.SIGN_IN_FAILED, "user", None,
                         {"email": email, "reason": "locked"})
            raise LoginLocked(retry)
        await run_argon2(burn_verify_time, password)
        await throttle.fail(session, email, now, settings.login_max_failures,
                            settings.login_lockout_seconds)
        audit.record(session, ctx, audit.SIGN_IN_FAILED, "user", None,
                     {"email": email, "reason": "unknown_email"})
        raise LoginFailed()
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, ctx, audit.SIGN_IN_FAILED, "user", user.id,
                     {"email": email, "reason": "locked"}, user_id=user.id, role=user.role)
        raise LoginLocked(max(1, int((user.locked_until - now).total_seconds() + 0.999)))
    # argon2 takes ~0.1 s of CPU on purpose; in a thread (it releases the GIL) the event loop
    # keeps serving every other request meanwhile
    if not await run_argon2(verify_password, user.password_hash, password) \
            or not user.is_active:
        reason = "inactive" if user.is_active is False else "bad_password"
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.failed_logins = 0
            user.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
            reason += "+locked"
        session.add(user)
        audit.record(session, ctx, audit.SIGN_IN_FAILED, "user", user.id,
                     {"email": email, "reason": reason}, user_id=user.id, role=user.role)
        raise LoginFailed()
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.add(user)
    issued = _issue(session, user, "session", "sign-in",
                    now + timedelta(hours=settings.session_ttl_hours))
    await session.flush()
    audit.record(session, ctx, audit.SIGN_IN, "user", user.id, None,
                 user_id=user.id, role=user.role)
    return issued, user


async def resolve_token(session: AsyncSession, token: str) -> Principal | None:
    """The principal a bearer/cookie token stands for, or None (unknown, revoked, expired,
    inactive user). Notes when the token was last used, at most once a minute."""
    row = await repo.find_token(session, hash_token(token))
    if row is None:
        return None
    record, user = row
    now = utcnow()
    if record.revoked_at is not None or not user.is_active:
        return None
    if record.expires_at is not None and record.expires_at <= now:
        return None
    if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
        record.last_used_at = now
        session.add(record)
    return principal_for(user, record)


async def logout(session: AsyncSession, ctx: AuditContext, principal: Principal) -> None:
    record = await repo.get_token(session, principal.token_id, principal.id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
        session.add(record)
    audit.record(session, ctx, audit.SIGN_OUT, "token", principal.token_id)


async def create_personal_token(session: AsyncSession, ctx: AuditContext, principal: Principal,
                                name: str) -> IssuedToken:
    user = await repo.get_user(session, principal.id)
    if user is None:
        raise AccountError("The user no longer exists.")
    issued = _issue(session, user, "personal", name.strip(), None)
    await session.flush()
    audit.record(session, ctx, audit.TOKEN_CREATE, "token", issued.record.id, {"name": name})
    return issued


async def revoke_token(session: AsyncSession, ctx: AuditContext, principal: Principal,
                       token_id: int) -> ApiToken | None:
    record = await repo.get_token(session, token_id, principal.id)
    if record is None:
        return None
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.add(record)
        audit.record(session, ctx, audit.TOKEN_REVOKE, "token", token_id)
    return record


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; use one of: {', '.join(ROLES)}.")


async def create_user(session: AsyncSession, ctx: AuditContext | None, *, email: str,
                      password: str, role: str, full_name: str = "") -> User:
    email = normalize_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not a valid email address.")
    _check_role(role)
    check_policy(password, email)
    if await repo.get_user_by_email(session, email) is not None:
        raise DuplicateEmail(f"A user with email {email} already exists.")
    user = User(email=email, full_name=full_name.strip()[:200], role=role,
                password_hash=await run_argon2(hash_password, password))
    session.add(user)
    await session.flush()
    audit.record(session, ctx, audit.USER_CREATE, "user", user.id,
                 {"email": email, "role": role})
    return user


async def update_user(session: AsyncSession, ctx: AuditContext, actor: Principal, user: User, *,
                      role: str | None = None, is_active: bool | None = None,
                      full_name: str | None = None, password: str | None = None) -> User:
    """Change role, activity, name or password; an admin cannot demote or disable themself.
    A new password or a deactivation ends the user's sign-in sessions at once (the actor's own
    current session excepted), so a leaked session dies with the password it came from."""
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        _check_role(role)
        if user.id == actor.id:
            raise AccountError("You cannot change your own role.")
        changes["role"] = {"from": user.role, "to": role}
        user.role = role
    if is_active is not None and is_active != user.is_active:
        if user.id == actor.id and not is_active:
            raise AccountError("You cannot deactivate your own account.")
        changes["is_active"] = is_active
        user.is_active = is_active
    if full_name is not None and full_name.strip() != user.full_name:
        user.full_name = full_name.strip()[:200]
        changes["full_name"] = True
    if password is not None:
        check_policy(password, user.email)
        user.password_hash = await run_argon2(hash_password, password)
        user.failed_logins, user.locked_until = 0, None
        changes["password"] = True
    if "password" in changes or changes.get("is_active") is False:
        assert user.id is not None
        ended = await repo.revoke_sessions(session, user.id, utcnow(),
                                           keep_token_id=actor.token_id)
        changes["sessions_ended"] = ended
    if changes:
        session.add(user)
        audit.record(session, ctx, audit.USER_UPDATE, "user", user.id, changes)
    return user
