"""Liveness and readiness. /api/health says the process answers; /api/ready says whether each
dependency (database, Redis, S3) answers: 200 or 503 with the status for anyone (a load
balancer needs no more), and which dependency failed, and how, for admins only (an anonymous
caller learning which store is down learns where to push). An admin's token is checked in the
database, so while the database itself is down nobody gets the details: the logs have them."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get
from sqlalchemy import text

from backend.accounts.enums import Role
from backend.accounts.service import resolve_token
from backend.http.auth import request_session, token_from
from backend.http.deps import Svc
from backend.platform.logs import get_logger
from backend.platform.services import Services
from backend.platform.version import app_version

log = get_logger("health")
CHECK_TIMEOUT_S = 3.0


async def _check_database(services: Services) -> None:
    async with services.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check(name: str, probe: Any) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
        return name, None
    except Exception as e:
        log.warning("readiness check failed", extra={"dependency": name, "reason": str(e)})
        return name, "timeout" if isinstance(e, TimeoutError) else type(e).__name__


async def _is_admin(request: Request[Any, Any, Any], services: Services) -> bool:
    """Whether the caller's token (if any) is a valid admin's; False when it cannot be told."""
    token, session = token_from(request), request_session(request.scope)
    if not token or session is None:
        return False
    try:
        principal = await asyncio.wait_for(
            resolve_token(session, token, services.settings), CHECK_TIMEOUT_S
        )
    except Exception as e:  # the database is down: no details, the status still answers
        log.warning("readiness caller not resolved", extra={"reason": type(e).__name__})
        return False
    return principal is not None and principal.role == Role.ADMIN


class HealthController(Controller):
    path = "/api"
    tags = ("health",)

    @get("/health", exclude_from_auth=True)
    async def health(self) -> dict[str, str]:
        """Liveness check.

        The process answers, with the product's version; no dependency is checked (for a
        container's health check)."""
        return {"status": "ok", "version": app_version()}

    @get("/ready", exclude_from_auth=True)
    async def ready(
        self, request: Request[Any, Any, Any], services: Svc
    ) -> Response[dict[str, Any]]:
        """Readiness check.

        Database SELECT 1, Redis PING and S3 HeadBucket all answer: 200, else 503 (for a
        load balancer). `checks` and `detail` (which dependency failed) are added only for a
        caller signed in as admin."""
        results = await asyncio.gather(
            _check("database", _check_database(services)),
            _check("redis", services.queue.ping()),
            _check("s3", services.store.ping()),
        )
        checks = {name: ("ok" if err is None else f"unavailable ({err})") for name, err in results}
        failed = [name for name, err in results if err is not None]
        body: dict[str, Any] = {"status": "ready" if not failed else "unavailable"}
        if await _is_admin(request, services):
            body["checks"] = checks
            if failed:
                body["detail"] = f"Unavailable: {', '.join(failed)}."
        return Response(body, status_code=503 if failed else 200)


CONTROLLERS = [HealthController]
