"""Per-request dependencies: the session (one unit of work per request) and the services.

The session commits after the handler returned and its response was built, before it is sent,
and then runs what the services registered for after the commit (enqueue a job:
backend.platform.unit_of_work); any exception rolls it back. Handlers that answer with an
after-commit outcome (the upload's ``enqueued``) or keep a write despite refusing the request (a
failed sign-in) commit explicitly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.principal import Principal, RequestCtx
from backend.http.auth import request_session
from backend.http.requests import request_id
from backend.platform.db import transaction
from backend.platform.services import Services
from backend.platform.unit_of_work import commit, rollback


def provide_services(state: State) -> Services:
    return state.services


async def provide_db_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed after the handler returns, rolled back if it
    raises (Litestar throws the handler's exception into this generator). It runs in the
    session the authentication middleware opened (and closes) when there is one."""
    session = request_session(request.scope)
    if session is None:
        services: Services = state.services
        async with transaction(services.sessions) as own:
            yield own
        return
    try:
        yield session
        await commit(session)
    except BaseException:
        await rollback(session)
        raise


def provide_ctx(request: Request[Any, Any, Any]) -> RequestCtx:
    user = request.scope.get("user")
    return RequestCtx(
        user=user if isinstance(user, Principal) else None,
        client_addr=request.client.host if request.client else None,
        request_id=request_id(request.scope),
    )


def provide_user(request: Request[Any, Any, Any]) -> Principal:
    return request.user


DEPENDENCIES = {
    "services": Provide(provide_services, sync_to_thread=False),
    "db": Provide(provide_db_session),
    "ctx": Provide(provide_ctx, sync_to_thread=False),
    "user": Provide(provide_user, sync_to_thread=False),
}

# Handler parameter types: explicit markers (inferred dependencies end with Litestar 3).
Db = NamedDependency[AsyncSession]
Svc = NamedDependency[Services]
Ctx = NamedDependency[RequestCtx]
CurrentUser = NamedDependency[Principal]
