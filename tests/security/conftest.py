"""The security suite runs on the backend suite's stack fixtures (real SQL, Redis, S3).

It reuses tests/backend's fixtures and testkit, with its own SQL database and Redis database so
that running both suites in one session (CI does, on PostgreSQL and Redis) never lets one empty
the other's stores.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.backend.backend_testkit import suite_database_url, suite_redis_url

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

__all__ = [
    "admin",
    "clinician",
    "moto_url",
    "other_stack",
    "reviewer",
    "sample_png",
    "settings",
    "stack",
]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return suite_database_url(tmp_path_factory.mktemp("db"), "security")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with suite_redis_url(tmp_path_factory.mktemp("redis"), 2) as url:
        yield url
