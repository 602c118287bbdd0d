"""Who acts: the signed-in user as services see it, and the actor of an audit record.

Kept in the accounts domain (not the HTTP layer) because the services, the DICOM node and the
CLI act for a user too; the HTTP layer builds these from a token, the node from its account.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.accounts.enums import Role


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the request sees it (no password hash, no ORM state)."""

    id: int
    email: str
    role: Role
    full_name: str
    token_id: int
    token_kind: str


@dataclass(frozen=True)
class RequestCtx:
    """Who did what from where, for audit records."""

    user: Principal | None
    client_addr: str | None
    request_id: str

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def role(self) -> str | None:
        return self.user.role if self.user else None
