"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # refuse megabyte "passwords" before hashing them
# Each hash or verify holds 64 MiB (argon2-cffi's RFC 9106 profile) for ~0.1-0.3 s of CPU. One at
# a time per process keeps an API process within its 300 MB budget when a shift signs in at
# once (bench/idle_budgets.py: 193 MB resident, 260 MB peak after one sign-in); more at a time
# would not finish sooner on the cores there are.
ARGON2_AT_ONCE = 1
_argon2_slots: RunVar[CapacityLimiter] = RunVar("argon2_slots")
T = TypeVar("T")


class PasswordPolicyError(ValueError):
    pass


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()


def check_policy(password: str, email: str | None = None) -> None:
    """At least 12 characters, not blank, and not the account's own email or its name part."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"The password must be at most {MAX_PASSWORD_LENGTH} characters long."
        )
    if password.strip() == "":
        raise PasswordPolicyError("The password must not be blank.")
    if email and password.strip().lower() in {
        email.strip().lower(),
        email.strip().lower().partition("@")[0],
    }:
        raise PasswordPolicyError("The password must not be the account's email address.")


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return bool(hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash("medsegtext-dummy-password")


def burn_verify_time(password: str) -> None:
    """Verify against a dummy hash so an unknown email costs as much time as a wrong password."""
    verify_password(_dummy_hash(), password)


async def run_argon2(fn: Callable[..., T], *args: str) -> T:
    """Run a hash or verify off the event loop, ARGON2_AT_ONCE at a time in this process."""
    try:
        slots = _argon2_slots.get()
    except LookupError:
        slots = CapacityLimiter(ARGON2_AT_ONCE)
        _argon2_slots.set(slots)
    return await anyio.to_thread.run_sync(fn, *args, limiter=slots)
