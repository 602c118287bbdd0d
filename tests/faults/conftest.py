"""The fault tests' stack: the real API and a real arq worker, each dependency behind something
a test can break.

- S3 + DynamoDB: moto behind a :class:`TcpProxy` (refuse or blackhole);
- SQL: PostgreSQL (DATABASE_URL, a fresh ``<db>_faults_tests``) behind a proxy; SQLite otherwise,
  which has no server to cut (tests that need one skip and say so);
- Redis: a dedicated redis-server without persistence, so a test may kill and restart it (the
  shared REDIS_URL server is never touched).

Timeouts and retry backoff are short here, so an outage of a few seconds exercises the same paths
as the 30 s outages of ``bench/faults.py``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from backend.accounts.service import create_user
from backend.platform.db import transaction
from backend.platform.embedded import start_moto
from backend.platform.migrate import upgrade
from backend.platform.services import Services
from backend.settings import Settings
from tests.backend.backend_testkit import fresh_postgres
from tests.faults.faultkit import RedisServer, TcpProxy
from tests.faults.helpers import ANSWER_WITHIN_S, ApiServer, Cases


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server, url = start_moto()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def aws_proxy(moto_url: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy(moto_url).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("faults-redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def db_target(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The real database URL (migrated), not through the proxy."""
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith("postgresql"):
        url = asyncio.run(fresh_postgres(given, "faults_tests"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('faults-db') / 'faults.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def db_proxy(db_target: str) -> Iterator[TcpProxy | None]:
    if db_target.startswith("sqlite"):
        yield None
        return
    proxy = TcpProxy(db_target).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def settings(
    db_target: str,
    db_proxy: TcpProxy | None,
    redis_server: RedisServer,
    aws_proxy: TcpProxy,
    moto_url: str,
) -> Settings:
    aws = aws_proxy.url(moto_url)
    return Settings(
        environment="test",
        database_url=db_proxy.url(db_target) if db_proxy else db_target,
        redis_url=redis_server.url,
        s3_endpoint_url=aws,
        dynamodb_endpoint_url=aws,
        s3_bucket="medsegtext-faults",
        dynamodb_table="medsegtext-faults",
        job_max_tries=6,
        job_timeout_seconds=30,
        job_retry_base_seconds=0.5,
        job_retry_cap_seconds=2.0,
        sweep_queued_grace_seconds=2,
        aws_connect_timeout_seconds=2,
        aws_read_timeout_seconds=2,
        aws_max_attempts=2,
        db_connect_timeout_seconds=2,
        db_command_timeout_seconds=3,
        db_pool_timeout_seconds=3,
        redis_connect_timeout_seconds=1,
        worker_redis_outage_seconds=20,
        sagemaker_timeout_seconds=1,
    )


@pytest.fixture(scope="session")
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The test's own clients (same stores), for setup and for reading outcomes."""
    svc = await Services.start(settings)
    await svc.store.ensure_bucket()
    await svc.predictions.ensure_table()
    yield svc
    await svc.close()


@pytest.fixture(scope="session")
def api_url(settings: Settings, services: Services) -> Iterator[str]:
    server = ApiServer(settings).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
async def clinician(api_url: str, services: Services) -> dict[str, str]:
    email, password = f"faults-{uuid.uuid4().hex[:8]}@example.org", "correct-horse-battery"
    async with transaction(services.sessions) as db:
        await create_user(db, None, email=email, password=password, role="clinician")
    async with httpx.AsyncClient(base_url=api_url, timeout=ANSWER_WITHIN_S) as client:
        r = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(autouse=True)
def everything_up(
    aws_proxy: TcpProxy, db_proxy: TcpProxy | None, redis_server: RedisServer
) -> Iterator[None]:
    """A failed test must not leave the next one with a dependency down."""
    yield
    for proxy in (aws_proxy, db_proxy):
        if proxy is not None and proxy.is_down:
            proxy.up()
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()


@pytest.fixture
async def cases(
    api_url: str, clinician: dict[str, str], services: Services, moto_url: str
) -> AsyncIterator[Cases]:
    async with httpx.AsyncClient(
        base_url=api_url, headers=clinician, timeout=ANSWER_WITHIN_S
    ) as client:
        yield Cases(client, services, moto_url)


@pytest.fixture(scope="session")
def image(shared_data: Path) -> bytes:
    """A real chest film, downsized: model 2.0.0's scope gate refuses a made-up picture
    (out_of_scope), and these tests follow cases to done."""
    import io

    from PIL import Image

    film = Image.open(shared_data / "qata-cov19" / "images" / "covid_1.png").convert("L")
    buf = io.BytesIO()
    film.resize((224, 224)).save(buf, "PNG")
    return buf.getvalue()
