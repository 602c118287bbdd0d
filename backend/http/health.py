"""Liveness and readiness. /api/health says the process answers; /api/ready says each
dependency (database, Redis, S3) answers, and which one does not."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Response, get
from sqlalchemy import text

from backend.http.deps import Svc
from backend.http.logs import get_logger
from backend.platform.services import Services

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


class HealthController(Controller):
    path = "/api"
    tags = ("health",)

    @get("/health", exclude_from_auth=True)
    async def health(self) -> dict[str, str]:
        """Alive: the process answers (no dependency is checked)."""
        return {"status": "ok"}

    @get("/ready", exclude_from_auth=True)
    async def ready(self, services: Svc) -> Response[dict[str, Any]]:
        """Ready: database SELECT 1, Redis PING and S3 HeadBucket all answer (503 otherwise)."""
        results = await asyncio.gather(
            _check("database", _check_database(services)),
            _check("redis", services.queue.ping()),
            _check("s3", services.store.ping()),
        )
        checks = {name: ("ok" if err is None else f"unavailable ({err})")
                  for name, err in results}
        failed = [name for name, err in results if err is not None]
        body: dict[str, Any] = {"status": "ready" if not failed else "unavailable",
                                "checks": checks}
        if failed:
            body["detail"] = f"Unavailable: {', '.join(failed)}."
        return Response(body, status_code=503 if failed else 200)


CONTROLLERS = [HealthController]
