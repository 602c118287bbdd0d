"""Authentication: a bearer token (Authorization header) or the session cookie, resolved to a
Principal for every route not marked ``exclude_from_auth``. Anonymous or invalid -> 401.

The middleware opens the request's one database session: the token is looked up in it and the
handler's unit of work (backend.http.deps.provide_db_session) goes on in it, so a request checks
out one pooled connection instead of two (on PostgreSQL a pre-ping, a COMMIT and a reset fewer).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware
from litestar.types import Receive, Scope, Send
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.service import resolve_token
from backend.accounts.tokens import SESSION_COOKIE

REQUEST_SESSION = "medsegtext_db_session"  # key in the ASGI scope's state


def token_from(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = connection.cookies.get(SESSION_COOKIE)
    return cookie or None


def request_session(scope: Scope) -> AsyncSession | None:
    """The session the middleware opened for this request (None outside an HTTP request)."""
    session = scope.get("state", {}).get(REQUEST_SESSION)
    return session if isinstance(session, AsyncSession) else None


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        async with scope["app"].state.services.sessions() as session:  # closed after the response
            state[REQUEST_SESSION] = session
            try:
                await super().__call__(scope, receive, send)
            finally:
                del state[REQUEST_SESSION]

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = token_from(connection)
        if not token:
            raise NotAuthorizedException("Authentication required: sign in or send a bearer token.")
        session = request_session(connection.scope)
        assert session is not None, "TokenAuthMiddleware.__call__ opens it"
        principal = await resolve_token(session, token, connection.app.state.services.settings)
        if session.dirty:  # the once-a-minute last-used note: kept even if the request fails
            await session.commit()
        if principal is None:
            raise NotAuthorizedException("The token is invalid, expired or revoked.")
        return AuthenticationResult(user=principal, auth=principal.token_id)


def auth_middleware() -> DefineMiddleware:
    return DefineMiddleware(TokenAuthMiddleware, exclude=["^/api/schema"])
