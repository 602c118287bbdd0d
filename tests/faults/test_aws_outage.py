"""S3 + DynamoDB down while uploads and jobs are in flight: the API answers 503 with Retry-After
at once (refused) or within its timeouts (an endpoint that hangs), reads that need only SQL still
work, jobs retry, and every case ends done with one result once the endpoint is back."""

from __future__ import annotations

import asyncio

from backend.platform.services import Services
from backend.settings import Settings
from tests.faults.faultkit import TcpProxy
from tests.faults.helpers import Cases, running_worker, wait_until


async def test_refused_while_jobs_run(
    settings: Settings, cases: Cases, image: bytes, aws_proxy: TcpProxy
) -> None:
    # each job holds its image a second: in flight
    async with running_worker(settings, delay_s=1):
        for _ in range(3):
            assert (await cases.upload(image)).status_code == 202
        first = cases.ids[0]

        await wait_until("a job to start", cases.any_running, 30)
        aws_proxy.down("refuse")
        refused = await cases.upload(image)
        assert refused.status_code == 503, refused.text
        assert refused.json()["dependency"] == "s3" and refused.headers["retry-after"]
        detail = await cases.request("GET", f"/api/cases/{first}")
        assert detail.status_code == 200  # SQL only: still answers
        picture = await cases.request("GET", f"/api/cases/{first}/image")
        assert picture.status_code == 503 and picture.headers["retry-after"]
        ready = await cases.request("GET", "/api/ready")  # which one: admins only
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        await asyncio.sleep(3)  # the jobs in flight meet the outage
        aws_proxy.up()
        assert (await cases.upload(image)).status_code == 202

        await wait_until("every case to finish", cases.all_finished, 90)
    outcome = await cases.outcome()
    outcome.check()
    assert set(outcome.statuses.values()) == {"done"}, outcome.errors
    assert sum(outcome.attempts.values()) > len(cases.ids)  # some job met the outage, retried


async def test_hung_endpoint_answers_503_within_the_timeouts(
    cases: Cases, image: bytes, services: Services, aws_proxy: TcpProxy
) -> None:
    """An endpoint that accepts and never answers (before the fix an S3 PUT waited for
    "100 Continue" with no timeout: the upload hung for good)."""
    aws_proxy.down("blackhole")
    try:
        response = await cases.upload(image)  # fails the test if it hangs past the bound
    finally:
        aws_proxy.up()
    assert response.status_code == 503 and response.json()["dependency"] == "s3"
    assert response.headers["retry-after"]
    assert cases.ids == []  # refused, so the client knows to retry: nothing half-stored
