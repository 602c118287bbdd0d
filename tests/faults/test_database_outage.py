"""The database down while uploads and jobs are in flight (PostgreSQL behind a proxy): the API
answers 503 with Retry-After at once (refused) or within its timeouts (a database that hangs),
jobs retry, and every case ends done with one result once it is back.

SQLite, the embedded default, is a file opened inside each process: there is no server to stop
and no connection to cut, so these tests need DATABASE_URL=postgresql+asyncpg://... (CI's
services run). A broken SQLite path is covered by tests/backend/test_outages.py."""

from __future__ import annotations

import asyncio

import pytest

from backend.settings import Settings
from tests.faults.faultkit import TcpProxy
from tests.faults.helpers import Cases, running_worker, wait_until

NO_SERVER = (
    "SQLite has no database server to take down; set DATABASE_URL to a PostgreSQL "
    "database to run the database outage tests"
)


@pytest.fixture
def db(db_proxy: TcpProxy | None) -> TcpProxy:
    if db_proxy is None:
        pytest.skip(NO_SERVER)
    return db_proxy


async def test_refused_while_jobs_run(
    settings: Settings, cases: Cases, image: bytes, db: TcpProxy
) -> None:
    async with running_worker(settings, delay_s=1):
        for _ in range(3):
            assert (await cases.upload(image)).status_code == 202
        first = cases.ids[0]

        await wait_until("a job to start", cases.any_running, 30)
        db.down("refuse")
        for response in (
            await cases.upload(image),
            await cases.request("GET", f"/api/cases/{first}"),
            await cases.request("GET", "/api/cases"),
        ):
            assert response.status_code == 503, response.text
            assert response.json()["dependency"] == "database"
            assert response.headers["retry-after"]
        ready = await cases.request("GET", "/api/ready")  # which one: admins only
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        await asyncio.sleep(3)  # the jobs in flight meet the outage
        db.up()
        assert (await cases.upload(image)).status_code == 202

        await wait_until("every case to finish", cases.all_finished, 90)
    outcome = await cases.outcome()
    outcome.check()
    assert set(outcome.statuses.values()) == {"done"}, outcome.errors


async def test_hung_database_answers_503_within_the_timeouts(cases: Cases, db: TcpProxy) -> None:
    """Open connections stall and new ones are never answered (a partition): the pool's
    pre-ping, the connect and the command timeouts end each request, not asyncpg's 60 s
    connect default or a statement waiting for ever."""
    db.down("blackhole")
    try:
        responses = [await cases.request("GET", "/api/cases") for _ in range(2)]
    finally:
        db.up()
    for response in responses:
        assert response.status_code == 503, response.text
        assert response.json()["dependency"] == "database"
    assert (await cases.request("GET", "/api/cases")).status_code == 200  # and it recovers
