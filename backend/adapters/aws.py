"""One aioboto3 session per process; short timeouts so a dead endpoint fails fast."""

from __future__ import annotations

import aioboto3
from botocore.config import Config

from backend.settings import Settings

CLIENT_CONFIG = Config(
    signature_version="s3v4",
    connect_timeout=3,
    read_timeout=30,
    retries={"max_attempts": 2, "mode": "standard"},
    s3={"addressing_style": "path"},
)


def aws_session(settings: Settings) -> aioboto3.Session:
    return aioboto3.Session(region_name=settings.aws_region)
