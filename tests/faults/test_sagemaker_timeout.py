"""A SageMaker endpoint that accepts the request and never answers: each try ends at the
configured read timeout, the job retries, and the case ends failed with a reason that names the
timeout -- no hang, no result stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.settings import Settings
from tests.faults.faultkit import StallServer
from tests.faults.helpers import Cases, running_worker, wait_until


@pytest.fixture
def stalled_endpoint() -> Iterator[StallServer]:
    server = StallServer().start()
    yield server
    server.stop()


async def test_hung_endpoint_fails_the_case_with_a_timeout_reason(
    settings: Settings, cases: Cases, image: bytes, stalled_endpoint: StallServer
) -> None:
    tries = 2
    sagemaker = settings.model_copy(
        update={
            "inference_backend": "sagemaker",
            "sagemaker_endpoint_url": stalled_endpoint.url,
            "job_max_tries": tries,
            "job_retry_base_seconds": 0.1,
        }
    )
    assert sagemaker.sagemaker_timeout_seconds < sagemaker.job_timeout_seconds
    async with running_worker(sagemaker):
        assert (await cases.upload(image)).status_code == 202
        # unbounded before: each try would wait the 60 s default read timeout
        await wait_until("the case to finish", cases.all_finished, 30)

    outcome = await cases.outcome()
    outcome.check()
    (case_id,) = cases.ids
    assert outcome.statuses[case_id] == "failed"
    reason = outcome.errors[case_id] or ""
    assert reason.startswith(f"inference service unavailable after {tries} tries")
    assert "timeout" in reason.lower(), reason  # botocore's ReadTimeoutError, not arq's kill
    assert outcome.attempts[case_id] == tries and stalled_endpoint.accepted >= tries
    assert outcome.records[case_id] == 0 and outcome.objects[case_id] == 1  # the upload only
