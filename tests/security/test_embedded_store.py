"""The embedded S3 + DynamoDB checks credentials, and var/ is private (issue 12: the embedded
store accepted any credentials from any local process, and var/medsegtext.db was
world-readable)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from backend import devstack
from backend.platform.aws_gate import CREDENTIALS_FILE, Credentials, GatedMotoServer
from backend.platform.aws_gate import load_or_create_credentials as load_creds
from backend.platform.data_dir import secure_data_dir
from backend.platform.embedded import free_port
from backend.settings import ROOT

REGION = "eu-west-1"
BUCKET = "medsegtext-gate"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _clients(url: str, key_id: str, secret: str) -> tuple[Any, Any]:
    kw = {
        "endpoint_url": url,
        "region_name": REGION,
        "aws_access_key_id": key_id,
        "aws_secret_access_key": secret,
        "config": Config(
            signature_version="s3v4", retries={"max_attempts": 1}, s3={"addressing_style": "path"}
        ),
    }
    return boto3.client("s3", **kw), boto3.client("dynamodb", **kw)


def _refused(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as e:
        call()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, e.value.response
    return dict(e.value.response["Error"])


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Credentials]]:
    creds = load_creds(tmp_path_factory.mktemp("var"))
    server = GatedMotoServer(creds, free_port()).start()
    s3, ddb = _clients(server.url, creds.access_key_id, creds.secret_access_key)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    ddb.create_table(
        TableName="gate",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
    )
    yield server.url, creds
    server.stop()


def test_the_install_key_works_for_what_the_product_does(gated) -> None:
    url, creds = gated
    s3, ddb = _clients(url, creds.access_key_id, creds.secret_access_key)
    key = "cases/a b+c/ü (1).png"
    s3.put_object(
        Bucket=BUCKET, Key=key, Body=b"\x89PNG" + os.urandom(200_000), ContentType="image/png"
    )
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()[:4] == b"\x89PNG"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="cases/")["Contents"]] == [
        key
    ]
    presigned = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=60
    )
    assert httpx.get(presigned).status_code == 200
    s3.delete_object(Bucket=BUCKET, Key=key)
    ddb.put_item(TableName="gate", Item={"k": {"S": "case-1"}, "v": {"N": "1"}})
    assert ddb.get_item(TableName="gate", Key={"k": {"S": "case-1"}})["Item"]["v"] == {"N": "1"}


def test_wrong_credentials_are_refused(gated) -> None:
    url, creds = gated
    s3, ddb = _clients(url, creds.access_key_id, "test")  # right key id, wrong secret
    assert "signature" in _refused(lambda: s3.list_objects_v2(Bucket=BUCKET))["Message"]
    _refused(lambda: s3.put_object(Bucket=BUCKET, Key="x", Body=b"x"))
    assert _refused(lambda: ddb.scan(TableName="gate"))["Code"] == "UnrecognizedClientException"
    s3, ddb = _clients(url, "test", "test")  # moto's usual dummy credentials
    assert "access key" in _refused(lambda: s3.list_objects_v2(Bucket=BUCKET))["Message"]
    _refused(lambda: ddb.delete_table(TableName="gate"))
    # unsigned requests, and moto's control API (reset, auth switch), never reach moto
    assert httpx.get(f"{url}/{BUCKET}").status_code == 403
    assert httpx.post(f"{url}/moto-api/reset").status_code == 403
    assert httpx.post(f"{url}/moto-api/reset-auth", content=b"inf").status_code == 403
    good, _ = _clients(url, creds.access_key_id, creds.secret_access_key)
    assert good.list_objects_v2(Bucket=BUCKET)["KeyCount"] >= 0  # nothing was reset


def test_a_signed_request_cannot_be_altered_or_replayed_late(gated) -> None:
    url, creds = gated
    signer = SigV4Auth(BotoCredentials(creds.access_key_id, creds.secret_access_key), "s3", REGION)
    body = b"original"
    request = AWSRequest("PUT", f"{url}/{BUCKET}/signed.txt", data=body)
    request.headers["x-amz-content-sha256"] = SigV4Auth.payload(signer, request)
    signer.add_auth(request)
    headers = dict(request.headers.items())
    assert httpx.put(request.url, content=b"tampered", headers=headers).status_code == 403
    assert httpx.put(request.url, content=body, headers=headers).status_code == 200
    s3, _ = _clients(url, creds.access_key_id, creds.secret_access_key)
    old = s3.generate_presigned_url(
        "get_object", ExpiresIn=1, Params={"Bucket": BUCKET, "Key": "signed.txt"}
    )
    time.sleep(2.1)
    assert httpx.get(old).status_code == 403


def test_install_key_is_random_private_and_kept(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    first, again, other = load_creds(tmp_path), load_creds(tmp_path), load_creds(tmp_path / "other")
    assert first == again and first != other
    assert len(first.secret_access_key) >= 40 and first.access_key_id != "test"
    assert _mode(tmp_path / CREDENTIALS_FILE) == 0o600
    assert (
        json.loads((tmp_path / CREDENTIALS_FILE).read_text())["secret_access_key"]
        == first.secret_access_key
    )


def test_devstack_embedded_store_refuses_other_credentials(tmp_path: Path) -> None:
    """What `make up` starts: only the key it hands to the API and worker works."""
    embedded = devstack.start_embedded(
        {"DATABASE_URL": "sqlite+aiosqlite:///unused", "REDIS_URL": "redis://unused"}, tmp_path
    )
    try:
        url = embedded.env["MEDSEGTEXT_S3_ENDPOINT_URL"]
        s3, _ = _clients(url, "test", "test")
        _refused(lambda: s3.list_buckets())
        s3, _ = _clients(url, embedded.env["AWS_ACCESS_KEY_ID"], "guessed-secret")
        _refused(lambda: s3.list_buckets())
        good, _ = _clients(
            url, embedded.env["AWS_ACCESS_KEY_ID"], embedded.env["AWS_SECRET_ACCESS_KEY"]
        )
        assert isinstance(good.list_buckets()["Buckets"], list)
        assert load_creds(tmp_path).secret_access_key == embedded.env["AWS_SECRET_ACCESS_KEY"]
    finally:
        embedded.stop()


def test_secure_data_dir_fixes_what_an_earlier_start_left(tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "redis").mkdir(parents=True)
    old = [var / "medsegtext.db", var / "medsegtext.db-wal", var / "redis" / "dump.rdb"]
    for f in old:
        f.write_bytes(b"x")
        f.chmod(0o644)
    var.chmod(0o755)
    (var / "redis").chmod(0o755)
    umask = os.umask(0o022)
    try:
        changed = secure_data_dir(var)
        assert os.umask(0o022) == 0o077  # what the stack creates next is private too
    finally:
        os.umask(umask)
    assert set(changed) == {var, var / "redis", *old}
    assert [_mode(p) for p in (var, var / "redis")] == [0o700, 0o700]
    assert {_mode(f) for f in old} == {0o600}


@pytest.mark.slow
def test_make_up_data_files_are_private(tmp_path: Path) -> None:
    """The dev stack as `make up` runs it (no portal): after it is ready, every file in its data
    directory is 0600 and every folder 0700, including a file an earlier version left 0644."""
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    (var / "left-by-an-old-start.log").write_text("x")
    (var / "left-by-an-old-start.log").chmod(0o644)
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "REDIS_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        )
        and not k.startswith("MEDSEGTEXT_")
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.devstack",
            "--port",
            str(free_port()),
            "--data-dir",
            str(var),
            "--frontend-port",
            "0",
            "--api-processes",
            "1",
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("ready in"):
                break
        else:
            pytest.fail("the stack did not start:\n" + "".join(lines[-40:]))
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        url = next(m.group(1) for m in (re.search(r"\(moto\) (\S+)", ln) for ln in lines) if m)
        s3, _ = _clients(url, "test", "test")
        _refused(lambda: s3.list_buckets())
        files = [p for p in var.rglob("*") if not p.is_symlink()]
        names = {p.name for p in files}
        assert {
            "medsegtext.db",
            "medsegtext.db-wal",
            "medsegtext.db-shm",
            CREDENTIALS_FILE,
            "redis",
        } <= names, names
        loose = {str(p.relative_to(var)): oct(_mode(p)) for p in [var, *files] if _mode(p) & 0o077}
        assert loose == {}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
