"""One aioboto3 session per process; short timeouts so a dead endpoint fails fast."""

from __future__ import annotations

import aioboto3
from botocore.config import Config

from backend.settings import Settings


def client_config(settings: Settings) -> Config:
    """S3 and DynamoDB clients: an endpoint that refuses or hangs costs at most about
    attempts x (connect + read timeout), after which the API answers 503 and a job retries."""
    return Config(
        signature_version="s3v4",
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
        retries={"max_attempts": settings.aws_max_attempts, "mode": "standard"},
        s3={"addressing_style": "path"},
    )


def aws_session(settings: Settings) -> aioboto3.Session:
    return aioboto3.Session(region_name=settings.aws_region)
