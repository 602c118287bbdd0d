"""A worker process SIGKILLed mid-job: a restarted worker finishes the case, with one result.

The worker runs as the real CLI (``python -m arq ...WorkerSettings``) with a 5 s job timeout, so
arq's in-progress lock (job_timeout + 10 s) lapses soon after the kill. The first worker's model
answers late (tests.slow_worker: after the image is fetched, before the model runs), so the job
is held mid-way; the restarted one is the production worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.platform.services import Services
from backend.settings import Settings
from tests.slow_worker import DELAY_ENV

ROOT = Path(__file__).resolve().parents[2]
JOB_TIMEOUT_S = 5


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEGTEXT_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "MEDSEGTEXT_ENVIRONMENT": "test",
            "MEDSEGTEXT_S3_ENDPOINT_URL": settings.s3_endpoint_url or "",
            "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL": settings.dynamodb_endpoint_url or "",
            "MEDSEGTEXT_S3_BUCKET": settings.s3_bucket,
            "MEDSEGTEXT_DYNAMODB_TABLE": settings.dynamodb_table,
            "MEDSEGTEXT_JOB_TIMEOUT_SECONDS": str(JOB_TIMEOUT_S),
            "MEDSEGTEXT_JOB_MAX_TRIES": str(settings.job_max_tries),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
    )
    env.update(extra)
    return env


def start_worker(
    env: dict[str, str], log: Path, settings_path: str = "backend.worker.settings.WorkerSettings"
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "arq", settings_path],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_for_status(
    kit, case_id: str, status: str, timeout_s: float, proc: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + timeout_s
    while (await kit.load_case(case_id)).status != status:
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"case never became {status!r}; worker log:\n{log.read_text()[-3000:]}")
        await asyncio.sleep(0.1)


async def test_killed_worker_job_completes_after_restart(
    kit, settings: Settings, services: Services, xray: bytes, new_case, tmp_path: Path
) -> None:
    case_id = await new_case(xray)
    await services.queue.enqueue_inference(case_id, services.manifest.version)
    log = tmp_path / "worker.log"

    first = start_worker(
        worker_env(settings, **{DELAY_ENV: "4"}), log, "tests.slow_worker.WorkerSettings"
    )
    try:
        await wait_for_status(kit, case_id, "running", 60, first, log)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    assert await services.predictions.for_case(case_id) == []  # killed before any result

    second = start_worker(worker_env(settings), log)
    try:
        # arq re-runs the job once its in-progress lock (job_timeout + 10 s) lapses.
        await wait_for_status(kit, case_id, "done", JOB_TIMEOUT_S + 10 + 30, second, log)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()

    case = await kit.load_case(case_id)
    assert case.attempts == 2, log.read_text()[-3000:]
    assert case.findings_text and case.error is None
    records = await services.predictions.for_case(case_id)
    assert len(records) == 1 and records[0].summary.findings_text == case.findings_text
    assert len(await kit.list_keys(case_id)) == 3  # the original, one mask, one overlay
    assert "try=2" in log.read_text()
