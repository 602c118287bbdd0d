"""Sign-in, tokens and user management rules. Never commits: the caller's unit of work does."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import lifecycle, throttle
from backend.accounts import repository as repo
from backend.accounts.enums import Role
from backend.accounts.lifecycle import IssuedToken
from backend.accounts.models import ApiToken, User
from backend.accounts.passwords import (
    PasswordPolicyError,
    burn_verify_time,
    check_policy,
    hash_password,
    run_argon2,
    verify_password,
)
from backend.accounts.principal import Principal
from backend.accounts.tokens import hash_token
from backend.admin import audit
from backend.admin.audit import AuditContext
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


class WrongPassword(Exception):
    """The current password given to a password change is not the account's (400)."""


class AccountError(ValueError):
    """A user-management request that breaks a rule; the message is shown to the admin."""


class DuplicateEmail(AccountError):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


def principal_for(user: User, token: ApiToken) -> Principal:
    assert user.id is not None and token.id is not None
    return Principal(
        id=user.id,
        email=user.email,
        role=Role(user.role),
        full_name=user.full_name,
        token_id=token.id,
        token_kind=token.kind,
    )


async def login(
    session: AsyncSession,
    ctx: AuditContext,
    settings: Settings,
    email: str,
    password: str,
    user_agent: str | None = None,
) -> tuple[IssuedToken, User]:
    """Check the credentials and open a session token; failures are counted per account and
    client address (backend.accounts.throttle) and audited. Unknown emails take the same path
    and the same time as wrong passwords."""
    email = normalize_email(email)
    now = utcnow()
    user = await repo.get_user_by_email(session, email)
    uid, role = (user.id, user.role) if user is not None else (None, None)
    known = (
        user is not None
        and user.id is not None
        and await repo.signed_in_from(
            session,
            user.id,
            ctx.client_addr,
            now - timedelta(days=settings.login_known_client_days),
        )
    )
    scopes = throttle.scopes(settings, email, ctx.client_addr, known_client=known)
    if retry := await throttle.retry_after(session, scopes, now):
        audit.record(
            session,
            ctx,
            audit.SIGN_IN_FAILED,
            "user",
            uid,
            {"email": email, "reason": "locked"},
            user_id=uid,
            role=role,
        )
        raise LoginLocked(retry)
    # argon2 takes ~0.1 s of CPU on purpose; in a thread (it releases the GIL) the event loop
    # keeps serving every other request meanwhile
    if user is None:
        await run_argon2(burn_verify_time, password)
        reason = "unknown_email"
    elif not await run_argon2(verify_password, user.password_hash, password) or not user.is_active:
        reason = "inactive" if user.is_active is False else "bad_password"
    else:
        reason = ""
    if reason:
        if await throttle.fail(session, scopes, now, settings):
            reason += "+locked"
        audit.record(
            session,
            ctx,
            audit.SIGN_IN_FAILED,
            "user",
            uid,
            {"email": email, "reason": reason},
            user_id=uid,
            role=role,
        )
        raise LoginFailed()
    assert user is not None
    await throttle.succeed(session, scopes[0])
    user.last_login_at = now
    session.add(user)
    issued = await lifecycle.open_session(session, ctx, settings, user, now, user_agent)
    await session.flush()
    audit.record(
        session, ctx, audit.SIGN_IN, "user", user.id, None, user_id=user.id, role=user.role
    )
    return issued, user


async def resolve_token(
    session: AsyncSession, token: str, settings: Settings | None = None
) -> Principal | None:
    """The principal a bearer/cookie token stands for, or None (unknown, revoked, expired,
    inactive user). With the settings, no token outlives its kind's maximum lifetime, whatever
    its stored expiry. Notes when the token was last used, at most once a minute."""
    row = await repo.find_token(session, hash_token(token))
    if row is None:
        return None
    record, user = row
    now = utcnow()
    if record.revoked_at is not None or not user.is_active:
        return None
    ends = lifecycle.expiry(record, settings) if settings is not None else record.expires_at
    if ends is not None and ends <= now:
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


async def revoke_token(
    session: AsyncSession, ctx: AuditContext, principal: Principal, token_id: int
) -> ApiToken | None:
    """Revoke one of the caller's own tokens (personal or session)."""
    return await lifecycle.revoke_one(session, ctx, principal.id, token_id, "user", utcnow())


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"Unknown role {role!r}; use one of: {', '.join(Role)}.") from None


async def create_user(
    session: AsyncSession,
    ctx: AuditContext | None,
    *,
    email: str,
    password: str,
    role: str,
    full_name: str = "",
) -> User:
    email = normalize_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not a valid email address.")
    role = _role(role)
    check_policy(password, email)
    if await repo.get_user_by_email(session, email) is not None:
        raise DuplicateEmail(f"A user with email {email} already exists.")
    user = User(
        email=email,
        full_name=full_name.strip()[:200],
        role=role,
        password_hash=await run_argon2(hash_password, password),
    )
    session.add(user)
    await session.flush()
    audit.record(session, ctx, audit.USER_CREATE, "user", user.id, {"email": email, "role": role})
    return user


async def update_user(
    session: AsyncSession,
    ctx: AuditContext,
    actor: Principal,
    user: User,
    *,
    role: str | None = None,
    is_active: bool | None = None,
    full_name: str | None = None,
    password: str | None = None,
) -> User:
    """Change role, activity, name or password; an admin cannot demote or disable themself.
    A new password, a deactivation or a reactivation revokes every session and personal token of
    the user at once, for good (the actor's own current session excepted), so a leaked token
    dies with the password it came from and nothing revives with the account."""
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        role = _role(role)
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
        changes["password"] = True
    reason = (
        "password_change"
        if "password" in changes
        else "deactivation"
        if changes.get("is_active") is False
        else "reactivation"
        if changes.get("is_active") is True
        else None
    )
    if reason is not None:
        assert user.id is not None
        changes["tokens_revoked"] = await lifecycle.revoke_all(
            session, ctx, user.id, reason, utcnow(), keep_token_id=actor.token_id
        )
    if changes:
        session.add(user)
        audit.record(session, ctx, audit.USER_UPDATE, "user", user.id, changes)
    return user


async def change_own_password(
    session: AsyncSession,
    ctx: AuditContext,
    settings: Settings,
    principal: Principal,
    current: str,
    new: str,
) -> int:
    """A user changes their own password: the current one is checked first (wrong ones are
    counted per account, locked like sign-ins, and audited), then the policy, and a new
    password must differ from the current. Every other session and every personal token
    ends, for good; the sign-in session that asked stays, a personal token that asked ends
    too. Returns how many live sessions and tokens ended.

    Raises LoginLocked, WrongPassword (the caller commits, to keep the count and the audit
    event), PasswordPolicyError or AccountError."""
    now = utcnow()
    user = await repo.get_user(session, principal.id)
    if user is None or user.id is None:
        raise AccountError("The user no longer exists.")
    scope = throttle.password_change_scope(settings, user.id)
    if retry := await throttle.retry_after(session, [scope], now):
        audit.record(
            session, ctx, audit.PASSWORD_CHANGE_FAILED, "user", user.id, {"reason": "locked"}
        )
        raise LoginLocked(retry)
    if not await run_argon2(verify_password, user.password_hash, current):
        locked = await throttle.fail(session, [scope], now, settings)
        audit.record(
            session,
            ctx,
            audit.PASSWORD_CHANGE_FAILED,
            "user",
            user.id,
            {"reason": "bad_password+locked" if locked else "bad_password"},
        )
        raise WrongPassword()
    await throttle.succeed(session, scope)
    check_policy(new, user.email)
    if new == current:
        raise PasswordPolicyError("The new password must differ from the current one.")
    user.password_hash = await run_argon2(hash_password, new)
    session.add(user)
    keep = principal.token_id if principal.token_kind == lifecycle.SESSION else None
    revoked = await lifecycle.revoke_all(
        session, ctx, user.id, "password_change", now, keep_token_id=keep
    )
    audit.record(session, ctx, audit.PASSWORD_CHANGE, "user", user.id, {"tokens_revoked": revoked})
    return revoked
