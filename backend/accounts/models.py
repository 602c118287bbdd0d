"""Users and their tokens (browser sessions and personal API tokens, both stored hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.platform.db import utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True, max_length=254)
    full_name: str = Field(default="", max_length=200)
    role: str = Field(max_length=20)  # a Role, stored as its string
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class ApiToken(SQLModel, table=True):
    """kind 'session' for sign-ins (cookie or bearer), 'personal' for named API tokens.

    A token ends when revoked_at is set (sign-out, the user or an admin ending it, a password
    change, a deactivation: never undone) or at expires_at. client_addr and user_agent are those
    of the request that made it, so a user can tell their sessions apart."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=20)
    name: str = Field(default="", max_length=100)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    prefix: str = Field(max_length=12)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    client_addr: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=200)


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins in the current window for one scope (an account and a client address, a
    client address, an account), keyed by the sha256 of the scope (so the table holds no
    address). Unknown emails are counted like accounts, so answers never reveal which exist."""

    __tablename__ = "sign_in_throttle"
    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    window_start: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow, index=True)
