"""The embedded S3's objects on disk: one file per object, one folder per bucket
(backend.platform.aws_persist says the layout and why)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from pathlib import Path
from urllib.parse import quote

from backend.platform.aws_disk import (
    InProcess,
    NotPersisted,
    Restored,
    fsync_dir,
    write_atomically,
)

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
        write_atomically(
            folder / "bucket.json", [json.dumps({"name": bucket, "region": region}).encode()]
        )
        fsync_dir(self.root)

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
            fsync_dir(self.root)
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
                fsync_dir(target.parent)
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
        write_atomically(target, [json.dumps(header).encode(), b"\n", body])

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
