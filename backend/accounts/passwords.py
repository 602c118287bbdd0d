"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # refuse megabyte "passwords" before hashing them


class PasswordPolicyError(ValueError):
    pass


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()


def check_policy(password: str, email: str | None = None) -> None:
    """At least 12 characters, not blank, and not the account's own email or its name part."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.")
    if password.strip() == "":
        raise PasswordPolicyError("The password must not be blank.")
    if email and password.strip().lower() in {email.strip().lower(),
                                              email.strip().lower().partition("@")[0]}:
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
