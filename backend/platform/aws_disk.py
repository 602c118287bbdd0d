"""What the embedded S3 + DynamoDB's disk copy (backend.platform.aws_persist) is written
with: atomic file writes, the restore's counts, and requests to moto's WSGI app in process."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder, run_wsgi_app

WsgiApp = Any  # a WSGI callable: (environ, start_response) -> iterable of bytes

DYNAMO_PREFIX = "DynamoDB_20120810."


class NotPersisted(Exception):
    """moto applied a change that could not be written to disk; it is not acknowledged."""


@dataclass
class Restored:
    buckets: int = 0
    objects: int = 0
    journal_entries: int = 0
    items: int = 0
    seconds: float = 0.0


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, chunks: Iterable[bytes]) -> None:
    """Write, fsync, rename into place, fsync the folder: all of it or nothing survives."""
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


class InProcess:
    """Requests to moto's WSGI app without HTTP: for reading back what a write did, and for
    playing the disk copy into moto at start. moto trusts any signature; the gate is above."""

    def __init__(self, app: WsgiApp, key_id: str, host: str):
        self.app, self.key_id, self.host = app, key_id, host

    def call(
        self,
        method: str,
        path: str,
        service: str,
        region: str,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        data: bytes = b"",
    ) -> tuple[int, dict[str, str], bytes]:
        auth = (
            f"AWS4-HMAC-SHA256 Credential={self.key_id}/20240101/{region}/{service}/"
            "aws4_request, SignedHeaders=host, Signature=0"
        )
        sent: dict[str, str] = {"Host": self.host, "Authorization": auth, **(headers or {})}
        environ = EnvironBuilder(
            path=path, method=method, query_string=query, data=data, headers=list(sent.items())
        ).get_environ()
        environ["RAW_URI"] = path + (f"?{query}" if query else "")
        body_iter, status, response_headers = run_wsgi_app(self.app, environ, buffered=True)
        try:
            body = b"".join(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()
        return (int(status.split()[0]), {k.lower(): v for k, v in response_headers.items()}, body)

    def dynamodb(self, target: str, region: str, body: bytes) -> tuple[int, bytes]:
        status, _, out = self.call(
            "POST",
            "/",
            "dynamodb",
            region,
            data=body,
            headers={
                "X-Amz-Target": DYNAMO_PREFIX + target,
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
        return status, out
