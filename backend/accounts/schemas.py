"""Request and response bodies for sign-in, tokens and users (never the password hash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec

from backend.accounts.models import ApiToken, User

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Role = Annotated[str, msgspec.Meta(pattern="^(clinician|reviewer|admin)$")]


class LoginIn(msgspec.Struct):
    email: Email
    password: Password


class TokenIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class UserCreateIn(msgspec.Struct):
    email: Email
    password: Password
    role: Role
    full_name: Annotated[str, msgspec.Meta(max_length=200)] = ""


class UserPatchIn(msgspec.Struct):
    role: Role | None = None
    is_active: bool | None = None
    full_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    password: Password | None = None


@dataclass
class UserOut:
    id: int
    email: str
    full_name: str
    role: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, u: User) -> UserOut:
        assert u.id is not None
        return cls(u.id, u.email, u.full_name, u.role, u.is_active, u.created_at,
                   u.last_login_at)


@dataclass
class LoginOut:
    token: str
    token_type: str
    expires_at: datetime | None
    user: UserOut


@dataclass
class TokenOut:
    id: int
    name: str
    kind: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        assert t.id is not None
        return cls(t.id, t.name, t.kind, t.prefix, t.created_at, t.expires_at, t.last_used_at,
                   t.revoked_at)


@dataclass
class TokenCreated(TokenOut):
    token: str = ""  # the secret: shown in this response only


@dataclass
class UserPage:
    items: list[UserOut]
    total: int
    limit: int
    offset: int
