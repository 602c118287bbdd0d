"""Request and response bodies for sign-in, tokens and users (never the password hash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec

from backend.accounts.enums import Permission, Role, permissions_of
from backend.accounts.models import ApiToken, User

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class LoginIn(msgspec.Struct):
    email: Email
    password: Password


class PasswordChangeIn(msgspec.Struct):
    """Your current password and the new one (policy: backend.accounts.passwords)."""

    current_password: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=1024, description="The password you signed in with."),
    ]
    new_password: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=1024,
            description=(
                "At least 12 characters, not blank, not your email or its name part, and not "
                "the current password."
            ),
        ),
    ]


class TokenIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    # days the token lives; at most (and by default) the server's personal_token_max_days
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=36500)] | None = None


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
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, u: User) -> UserOut:
        assert u.id is not None
        return cls(
            u.id, u.email, u.full_name, Role(u.role), u.is_active, u.created_at, u.last_login_at
        )


@dataclass
class MeOut(UserOut):
    """You, with what your role allows (the portal shows and offers only that)."""

    permissions: list[Permission]

    @classmethod
    def of(cls, u: User) -> MeOut:
        user = UserOut.of(u)
        return cls(
            user.id,
            user.email,
            user.full_name,
            user.role,
            user.is_active,
            user.created_at,
            user.last_login_at,
            permissions_of(user.role),
        )


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
    client_addr: str | None  # of the request that made it
    user_agent: str | None

    @classmethod
    def of(cls, t: ApiToken, expires_at: datetime | None = None) -> TokenOut:
        """`expires_at`: when the token ends at the latest, where it differs from the stored
        one (backend.accounts.lifecycle.expiry)."""
        assert t.id is not None
        return cls(
            t.id,
            t.name,
            t.kind,
            t.prefix,
            t.created_at,
            expires_at or t.expires_at,
            t.last_used_at,
            t.revoked_at,
            t.client_addr,
            t.user_agent,
        )


@dataclass
class TokenCreated(TokenOut):
    token: str = ""  # the secret: shown in this response only


@dataclass
class TokenPage:
    items: list[TokenOut]
    total: int
    limit: int
    offset: int


@dataclass
class SessionOut:
    """One of the caller's live sign-in sessions; `current` marks the one this request used."""

    id: int
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    client_addr: str | None
    user_agent: str | None
    current: bool


@dataclass
class Revoked:
    revoked: int  # how many live tokens or sessions ended


@dataclass
class UserPage:
    items: list[UserOut]
    total: int
    limit: int
    offset: int
