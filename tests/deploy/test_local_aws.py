"""compose's S3 + DynamoDB stand-in (``python -m deploy.local_aws``): moto behind the backend's
credential gate, run as its own process on loopback, as the ``aws`` service runs it (issue 12:
the stand-in took any credentials, so any container on the compose network could read every
stored image)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.platform.embedded import free_port
from backend.settings import Settings
from deploy import local_init

ROOT = Path(__file__).resolve().parents[2]
KEY = {"AWS_ACCESS_KEY_ID": "MSTXCOMPOSETEST00000", "AWS_SECRET_ACCESS_KEY": "s3cr3t-for-tests"}


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MEDSEGTEXT_"))}
    return {**env, **KEY, "AWS_REGION": "eu-west-1", **overrides}


def _check(port: int, **overrides: str) -> subprocess.CompletedProcess[str]:
    """The compose health check's command, against this port."""
    return subprocess.run(
        [sys.executable, "-m", "deploy.local_aws", "--check", "--port", str(port)],
        cwd=ROOT,
        env=_env(**overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _start(*extra: str, port: int | None = None) -> tuple[subprocess.Popen[str], int]:
    """The ``aws`` service's command on a free loopback port, once its health check passes."""
    port = port or free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            *("-m", "deploy.local_aws", "--host", "127.0.0.1", "--port", str(port), *extra),
        ],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while _check(port).returncode != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the stand-in never became healthy: {proc.communicate()[0]}")
        time.sleep(0.5)
    return proc, port


def _stop(proc: subprocess.Popen[str]) -> None:
    """Killed, as a container is; its output pipe read to the end and closed."""
    proc.kill()
    proc.communicate()


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc, port = _start()
    try:
        yield proc, port
    finally:
        _stop(proc)


def test_health_check_passes_with_the_stacks_key_only(
    stand_in: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = stand_in
    assert _check(port).returncode == 0
    wrong = _check(port, AWS_SECRET_ACCESS_KEY="not-the-secret")
    assert wrong.returncode == 1
    assert "signature does not match" in wrong.stderr
    other = _check(port, AWS_ACCESS_KEY_ID="AKIAOTHERKEY00000000")
    assert other.returncode == 1 and "unknown access key" in other.stderr


@pytest.mark.parametrize("path", ["/", "/moto-api/", "/moto-api/reset"])
def test_unsigned_requests_and_the_control_api_are_refused(
    stand_in: tuple[subprocess.Popen[str], int], path: str
) -> None:
    _, port = stand_in
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
    assert refused.value.code == 403


def test_aws_init_creates_the_bucket_and_table_with_the_key(
    stand_in: tuple[subprocess.Popen[str], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the ``aws-init`` one-off does against it, through the backend's own adapters."""
    _, port = stand_in
    for name, value in KEY.items():
        monkeypatch.setenv(name, value)
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        s3_endpoint_url=url,
        dynamodb_endpoint_url=url,
        s3_bucket="compose-bucket",
        dynamodb_table="compose-table",
    )
    asyncio.run(local_init.ensure_storage(settings))
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id=KEY["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=KEY["AWS_SECRET_ACCESS_KEY"],
    )
    assert "compose-bucket" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    intruder = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id="moto",
        aws_secret_access_key="moto",
    )
    with pytest.raises(Exception, match="AccessDenied"):
        intruder.list_objects_v2(Bucket="compose-bucket")


def test_refuses_to_start_without_a_key() -> None:
    env = _env()
    del env["AWS_SECRET_ACCESS_KEY"]
    result = subprocess.run(
        [sys.executable, "-m", "deploy.local_aws", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "AWS_SECRET_ACCESS_KEY" in result.stderr


def test_stops_on_sigterm() -> None:
    """``docker compose stop`` sends SIGTERM: the server shuts down and exits 0 at once."""
    proc, _ = _start()
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        _stop(proc)


def _s3(port: int) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="eu-west-1",
        aws_access_key_id=KEY["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=KEY["AWS_SECRET_ACCESS_KEY"],
    )


def test_data_dir_keeps_objects_across_a_kill(tmp_path: Path) -> None:
    """compose's ``awsdata`` volume: a film stored, the container killed (no clean shutdown),
    started again on the same folder, the film is still there byte for byte."""
    film = os.urandom(300_000)
    proc, port = _start("--data-dir", str(tmp_path))
    try:
        _s3(port).create_bucket(
            Bucket="kept", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        _s3(port).put_object(Bucket="kept", Key="cases/1/image.png", Body=film)
    finally:
        _stop(proc)
    proc, port = _start("--data-dir", str(tmp_path))
    try:
        body = _s3(port).get_object(Bucket="kept", Key="cases/1/image.png")["Body"].read()
        assert body == film
    finally:
        _stop(proc)
    proc, port = _start()  # without a data folder: memory only, nothing from before
    try:
        assert _s3(port).list_buckets()["Buckets"] == []
    finally:
        _stop(proc)
