"""The compose stack's one-off setup, against a real moto server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import boto3
import pytest

from backend.settings import Settings
from deploy import local_init


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from backend.platform.embedded import start_moto

    server, url = start_moto()
    try:
        yield url
    finally:
        server.stop()


def test_creates_the_bucket_and_table_the_backend_uses_and_can_rerun(moto_url: str) -> None:
    settings = Settings(
        s3_endpoint_url=moto_url,
        dynamodb_endpoint_url=moto_url,
        s3_bucket="compose-bucket",
        dynamodb_table="compose-table",
    )
    asyncio.run(local_init.ensure_storage(settings))
    asyncio.run(local_init.ensure_storage(settings))  # a second `compose up` finds them
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=settings.aws_region)
    assert "compose-bucket" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    table = boto3.client(
        "dynamodb", endpoint_url=moto_url, region_name=settings.aws_region
    ).describe_table(TableName="compose-table")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "case_id": "HASH",
        "model_version": "RANGE",
    }


def test_no_admin_without_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDSEGTEXT_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("MEDSEGTEXT_ADMIN_EMAIL", "admin@example.org")
    assert local_init.ensure_admin(Settings()) is None


def test_refuses_to_run_against_real_aws(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (
        "MEDSEGTEXT_S3_ENDPOINT_URL",
        "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL",
        "MEDSEGTEXT_ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    assert local_init.main() == 2
    assert "local_init is for the compose stand-ins" in capsys.readouterr().err
