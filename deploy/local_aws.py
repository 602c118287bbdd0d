"""compose's S3 + DynamoDB stand-in: ``python -m deploy.local_aws [--host H] [--port P]``.

moto, behind the credential gate of ``make up``'s embedded store (backend.platform.aws_gate):
only requests signed (SigV4) with the stack's key, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
from the environment, reach it, and moto's unauthenticated control API (/moto-api/) is never
served. compose.yaml gives the same key to the backend services and to this one, and to no
other (the portal shares the network but not the key). ``--check`` is the health check: one
signed ListBuckets call, exit 0 when it succeeds. ``--data-dir`` (compose: the ``awsdata``
volume at /data) keeps every stored object and prediction record on disk, written through
before each answer and played back at start, as ``make up``'s store does
(backend.platform.aws_persist): ``docker compose down`` and ``up``, or a killed container,
lose no film.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from backend.platform.aws_gate import Credentials, GatedMotoServer

DEFAULT_PORT = 5000


class MissingKey(ValueError):
    pass


def credentials(env: Mapping[str, str]) -> Credentials:
    """The stack's key from the environment; MissingKey names what is not set."""
    missing = [n for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not env.get(n)]
    if missing:
        raise MissingKey(
            f"{' and '.join(missing)} must be set: the stand-in serves only "
            "requests signed with that key"
        )
    return Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])


def serve(creds: Credentials, host: str, port: int, data_dir: Path | None = None) -> None:
    """Serve until SIGTERM or SIGINT (``docker compose stop``), then shut down."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = GatedMotoServer(creds, port, host, data_dir=data_dir).start()
    kept = f"; data kept in {data_dir}: {server.restored}" if data_dir else " (data in memory)"
    print(
        f"S3 + DynamoDB stand-in on {server.url} (requests signed with {creds.access_key_id} "
        f"only){kept}",
        flush=True,
    )
    try:
        stop.wait()
    finally:
        server.stop()


def check(creds: Credentials, port: int, region: str) -> str | None:
    """None when a signed ListBuckets call succeeds, else why not."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=region,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(connect_timeout=3, read_timeout=3, retries={"max_attempts": 1}),
    )
    try:
        client.list_buckets()
    except Exception as e:  # any failure means unhealthy; say which
        return str(e)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local_aws", description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=os.environ.get("MEDSEGTEXT_AWS_DATA_DIR") or None,
        help="keep the data here across restarts (default: MEDSEGTEXT_AWS_DATA_DIR; unset: memory)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="health check: a signed call to the stand-in on this port",
    )
    args = parser.parse_args(argv)
    try:
        creds = credentials(os.environ)
    except MissingKey as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.check:
        problem = check(creds, args.port, os.environ.get("AWS_REGION") or "us-east-1")
        if problem:
            print(f"unhealthy: {problem}", file=sys.stderr)
            return 1
        return 0
    serve(creds, args.host, args.port, args.data_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
