"""The embedded S3 + DynamoDB keep every acknowledged write across a restart, a kill -9
included (issue 14: restarting `make up` lost every stored image), and the copy on disk is as
private as the rest of var/ and still behind the signature check."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from backend.platform.aws_gate import load_or_create_credentials as load_creds
from backend.platform.aws_persist import STORE_DIR
from backend.platform.data_dir import secure_data_dir
from backend.platform.embedded import free_port
from backend.settings import ROOT

REGION = "eu-west-1"
BUCKET = "medsegtext-keep"
TABLE = "keep-predictions"
ODD_KEYS = ["cases/1/image.png", "cases/a b+c/ü (1).png", "cases/%41/x~y=z&q.png"]

SERVE = """
import signal, sys, time
from pathlib import Path
from backend.platform.aws_gate import GatedMotoServer, load_or_create_credentials
from backend.platform.data_dir import secure_data_dir
data = Path(sys.argv[1])
secure_data_dir(data)
server = GatedMotoServer(load_or_create_credentials(data), int(sys.argv[2]), data_dir=data).start()
print("serving", server.restored, flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(1)
"""


def _clients(url: str, data: Path) -> tuple[Any, Any]:
    creds = load_creds(data)
    kw = {
        "endpoint_url": url,
        "region_name": REGION,
        "aws_access_key_id": creds.access_key_id,
        "aws_secret_access_key": creds.secret_access_key,
        "config": Config(
            signature_version="s3v4", retries={"max_attempts": 1}, s3={"addressing_style": "path"}
        ),
    }
    return boto3.client("s3", **kw), boto3.client("dynamodb", **kw)


class StoreProcess:
    """The gated, persisted store in its own process, so that it can be killed -9."""

    def __init__(self, data: Path):
        self.data, self.port = data, free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.banner = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StoreProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(self.data), str(self.port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.proc.stdout is not None
        self.banner = self.proc.stdout.readline()
        assert self.banner.startswith("serving"), self.banner
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(30)


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    var = tmp_path / "var"
    secure_data_dir(var)
    yield var


def _write_everything(s3: Any, ddb: Any) -> dict[str, bytes]:
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "case_id", "KeyType": "HASH"},
            {"AttributeName": "model_version", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "case_id", "AttributeType": "S"},
            {"AttributeName": "model_version", "AttributeType": "S"},
        ],
    )
    bodies = {key: os.urandom(50_000 + i) for i, key in enumerate(ODD_KEYS)}
    for key, body in bodies.items():
        s3.put_object(
            Bucket=BUCKET, Key=key, Body=body, ContentType="image/png", Metadata={"sha": "x" * 8}
        )
    s3.put_object(Bucket=BUCKET, Key="gone.png", Body=b"soon deleted")
    s3.delete_object(Bucket=BUCKET, Key="gone.png")
    s3.copy_object(
        Bucket=BUCKET, Key="copied.png", CopySource={"Bucket": BUCKET, "Key": ODD_KEYS[0]}
    )
    bodies["copied.png"] = bodies[ODD_KEYS[0]]
    for n in range(5):
        ddb.put_item(
            TableName=TABLE,
            Item={
                "case_id": {"S": f"case-{n}"},
                "model_version": {"S": "v1"},
                "lesion_probability": {"N": f"0.{n}5"},
            },
        )
    ddb.update_item(
        TableName=TABLE,
        Key={"case_id": {"S": "case-0"}, "model_version": {"S": "v1"}},
        UpdateExpression="SET reviewed = :r",
        ExpressionAttributeValues={":r": {"BOOL": True}},
    )
    ddb.delete_item(TableName=TABLE, Key={"case_id": {"S": "case-4"}, "model_version": {"S": "v1"}})
    return bodies


def _read_back(s3: Any, ddb: Any, bodies: dict[str, bytes]) -> None:
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert listed == sorted(bodies)
    for key, body in bodies.items():
        got = s3.get_object(Bucket=BUCKET, Key=key)
        assert got["Body"].read() == body, key
        assert got["ContentType"] == "image/png"
    assert s3.head_object(Bucket=BUCKET, Key=ODD_KEYS[1])["Metadata"] == {"sha": "x" * 8}
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION
    items = ddb.scan(TableName=TABLE)["Items"]
    assert sorted(i["case_id"]["S"] for i in items) == [f"case-{n}" for n in range(4)]
    first = ddb.get_item(
        TableName=TABLE, Key={"case_id": {"S": "case-0"}, "model_version": {"S": "v1"}}
    )["Item"]
    assert first["reviewed"] == {"BOOL": True} and first["lesion_probability"] == {"N": "0.05"}


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9(data: Path) -> None:
    store = StoreProcess(data).start()
    try:
        s3, ddb = _clients(store.url, data)
        bodies = _write_everything(s3, ddb)
    finally:
        store.kill(signal.SIGKILL)  # no shutdown hook runs
    again = StoreProcess(data).start()
    try:
        assert "buckets=1, objects=4," in again.banner, again.banner
        s3, ddb = _clients(again.url, data)
        _read_back(s3, ddb, bodies)
        # written after the restart, then a clean stop and a third start: still all there
        s3.put_object(Bucket=BUCKET, Key="after.png", Body=b"\x89PNG late", ContentType="image/png")
        ddb.put_item(
            TableName=TABLE, Item={"case_id": {"S": "case-9"}, "model_version": {"S": "v1"}}
        )
    finally:
        again.kill(signal.SIGTERM)
    third = StoreProcess(data).start()
    try:
        s3, ddb = _clients(third.url, data)
        assert s3.get_object(Bucket=BUCKET, Key="after.png")["Body"].read() == b"\x89PNG late"
        assert "Item" in ddb.get_item(
            TableName=TABLE, Key={"case_id": {"S": "case-9"}, "model_version": {"S": "v1"}}
        )
        # the journal was compacted at start: one line per table and per live item
        journal = (data / STORE_DIR / "dynamodb.jsonl").read_text().splitlines()
        assert len(journal) == 1 + 5, journal
    finally:
        third.kill(signal.SIGTERM)


def test_a_write_cut_short_is_dropped_not_half_restored(data: Path) -> None:
    """A kill in the middle of a write leaves a temp file or a torn journal line; neither was
    acknowledged, and the next start serves what was acknowledged before it."""
    store = StoreProcess(data).start()
    try:
        bodies = _write_everything(*_clients(store.url, data))
    finally:
        store.kill(signal.SIGKILL)
    objects = next((data / STORE_DIR / "s3").glob("*/objects"))
    (objects / ".deadbeef.1.tmp").write_bytes(b'{"key": "half.png", "headers": {}}\n\x89PN')
    with open(data / STORE_DIR / "dynamodb.jsonl", "ab") as f:
        f.write(b'{"target": "PutItem", "region": "eu-west-1", "body": "{\\"TableN')
    again = StoreProcess(data).start()
    try:
        _read_back(*_clients(again.url, data), bodies)
        assert not list(objects.glob(".*.tmp"))
    finally:
        again.kill(signal.SIGTERM)


def test_the_disk_copy_is_private_and_only_signed_requests_reach_it(data: Path) -> None:
    creds = load_creds(data)
    store = StoreProcess(data).start()
    try:
        s3, ddb = _clients(store.url, data)
        _write_everything(s3, ddb)
        # unsigned and wrongly signed writes are refused before they reach moto or the disk
        assert httpx.put(f"{store.url}/{BUCKET}/planted.png", content=b"x").status_code == 403
        bad = boto3.client(
            "s3",
            endpoint_url=store.url,
            region_name=REGION,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key="guessed",
            config=Config(s3={"addressing_style": "path"}),
        )
        with pytest.raises(ClientError):
            bad.put_object(Bucket=BUCKET, Key="planted.png", Body=b"x")
        with pytest.raises(ClientError):
            s3.head_object(Bucket=BUCKET, Key="planted.png")
    finally:
        store.kill(signal.SIGTERM)
    loose = {
        str(p.relative_to(data)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in [data, *data.rglob("*")]
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    }
    assert loose == {}
    assert len(list((data / STORE_DIR / "s3").glob("*/objects/*"))) == len(ODD_KEYS) + 1


@pytest.mark.slow
def test_restore_is_measured(data: Path) -> None:
    """Start-up cost of the playback: 300 objects of 300 KB and 300 records (printed for the
    README; budgets belong in bench/, so nothing is asserted on time)."""
    store = StoreProcess(data).start()
    try:
        s3, ddb = _clients(store.url, data)
        _write_everything(s3, ddb)
        blob = os.urandom(300_000)
        for n in range(300):
            s3.put_object(Bucket=BUCKET, Key=f"bulk/{n}.png", Body=blob)
            ddb.put_item(
                TableName=TABLE, Item={"case_id": {"S": f"bulk-{n}"}, "model_version": {"S": "v1"}}
            )
    finally:
        store.kill(signal.SIGTERM)
    again = StoreProcess(data).start()
    again.kill(signal.SIGTERM)
    assert f"objects={len(ODD_KEYS) + 1 + 300}" in again.banner, again.banner
    assert "items=304" in again.banner, again.banner
    print(again.banner)
