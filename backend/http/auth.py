"""Authentication: a bearer token (Authorization header) or the session cookie, resolved to a
Principal for every route not marked ``exclude_from_auth``. Anonymous or invalid -> 401."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from backend.accounts.tokens import SESSION_COOKIE


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the request sees it (no password hash, no ORM state)."""

    id: int
    email: str
    role: str
    full_name: str
    token_id: int
    token_kind: str


def token_from(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = connection.cookies.get(SESSION_COOKIE)
    return cookie or None


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
            self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        from backend.accounts.service import resolve_token

        token = token_from(connection)
        if not token:
            raise NotAuthorizedException("Authentication required: sign in or send a bearer token.")
        services = connection.app.state.services
        async with services.sessions() as session:
            principal = await resolve_token(session, token)
            await session.commit()
        if principal is None:
            raise NotAuthorizedException("The token is invalid, expired or revoked.")
        return AuthenticationResult(user=principal, auth=principal.token_id)


def auth_middleware() -> DefineMiddleware:
    return DefineMiddleware(TokenAuthMiddleware, exclude=["^/api/schema"])
