"""Audit rows name the real client and the server's own request id.

What the probe found: the API (uvicorn as ``make up`` and the container start it) took
X-Forwarded-For from any loopback caller, and kept any well-formed X-Request-ID as the id stored
in audit rows, so a local process could sign audit rows with another address and a chosen id.

Now forwarded headers count only from the proxies MEDSEGTEXT_TRUSTED_PROXIES names (none by
default; ``make up`` names 127.0.0.1 while it runs the portal, which forwards the browser's
address), uvicorn rewrites nothing (--no-proxy-headers), and the request id is always made by
the server; a client's X-Request-ID only reaches the access log, as ``client_request_id``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from backend import devstack_processes
from backend.app import create_app
from backend.platform.embedded import free_port
from backend.settings import ROOT, Settings, SettingsError, load_settings
from tests.backend.backend_testkit import Stack

FORGED_ADDR = "203.0.113.7"
FORGED_ID = "forged-request-id-1"


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes load_settings() read these settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MEDSEGTEXT_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    return {**env, **settings.environment_variables(), "PYTHONPATH": str(ROOT)}


class DevstackApi:
    """The API process exactly as ``make up`` starts it (backend.devstack_processes.children)."""

    def __init__(self, settings: Settings, frontend_port: int) -> None:
        self.port = free_port()
        child = devstack_processes.children("127.0.0.1", self.port, 0, frontend_port)[0]
        assert child.name == "api"
        env = {**settings_env(settings), **child.env}
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            child.argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def wait(self) -> DevstackApi:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (
                self.proc.stderr.read().decode()[-2000:] if self.proc.stderr else "the API exited"
            )
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("the devstack API did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def devstack_api(stack: Stack) -> Iterator[DevstackApi]:
    """No portal: nothing is a trusted proxy."""
    api = DevstackApi(stack.settings, frontend_port=0).wait()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def devstack_api_with_portal(stack: Stack) -> Iterator[DevstackApi]:
    """With the portal: the loopback address the portal calls from is a trusted proxy."""
    api = DevstackApi(stack.settings, frontend_port=free_port()).wait()
    yield api
    api.stop()


async def _failed_sign_in(url: str, email: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.post(
            "/api/auth/login", json={"email": email, "password": "nope"}, headers=headers
        )
    assert r.status_code == 401, r.text
    return r


async def _last_failure(stack: Stack, admin: Any, user_id: int) -> dict[str, Any]:
    r = await stack.client.get(
        "/api/admin/audit",
        headers=admin[1],
        params={"user_id": user_id, "action": "auth.sign_in_failed"},
    )
    assert r.status_code == 200, r.text
    return dict(r.json()["items"][0])


def test_uvicorn_rewrites_no_client_address() -> None:
    """make up and the container: uvicorn leaves the peer address alone (the app decides)."""
    api = devstack_processes.children("127.0.0.1", 8000, 0, 0)[0]
    assert "--no-proxy-headers" in api.argv
    dockerfile = (ROOT / "docker" / "api.Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    assert '"--no-proxy-headers"' in cmd


async def test_loopback_caller_cannot_forge_address_or_request_id(
    stack: Stack, admin: Any, devstack_api: DevstackApi
) -> None:
    user_id, email = await stack.create_user("clinician")
    r = await _failed_sign_in(
        devstack_api.url, email, {"X-Forwarded-For": FORGED_ADDR, "X-Request-ID": FORGED_ID}
    )
    row = await _last_failure(stack, admin, user_id)
    assert row["client_addr"] == "127.0.0.1"
    assert row["request_id"] != FORGED_ID
    assert row["request_id"] == r.headers["x-request-id"]  # the server's id, echoed


async def test_make_up_with_portal_trusts_the_portal_s_forwarding(
    stack: Stack, admin: Any, devstack_api_with_portal: DevstackApi
) -> None:
    user_id, email = await stack.create_user("clinician")
    await _failed_sign_in(
        devstack_api_with_portal.url,
        email,
        {"X-Forwarded-For": f"198.51.100.9, {FORGED_ADDR}", "X-Request-ID": FORGED_ID},
    )
    row = await _last_failure(stack, admin, user_id)
    assert row["client_addr"] == FORGED_ADDR  # the rightmost address the proxy did not add
    assert row["request_id"] != FORGED_ID


def _peer(app: Any, host: str) -> Callable[..., Awaitable[None]]:
    """The network in front of the app: the TCP peer the server would put in the scope."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "client": (host, 40000)}
        await app(scope, receive, send)

    return asgi


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("10.1.2.3", FORGED_ADDR, FORGED_ADDR),  # from the configured proxy network
        ("10.1.2.3", f"{FORGED_ADDR}, 10.9.9.9", FORGED_ADDR),  # through two trusted proxies
        ("10.1.2.3", "not-an-address", "10.1.2.3"),  # garbage: the proxy itself is the client
        ("192.0.2.50", FORGED_ADDR, "192.0.2.50"),  # anyone else: ignored
        ("127.0.0.1", FORGED_ADDR, "127.0.0.1"),  # loopback is nothing special
    ],
)
async def test_forwarded_for_counts_only_from_trusted_proxies(
    stack: Stack, admin: Any, peer: str, forwarded: str, expected: str
) -> None:
    settings = stack.settings.model_copy(update={"trusted_proxies": ("10.0.0.0/8",)})
    user_id, email = await stack.create_user("clinician")
    async with AsyncTestClient(_peer(create_app(settings), peer)) as client:  # type: ignore[arg-type]
        r = await client.post(
            "/api/auth/login",
            json={"email": email, "password": "nope"},
            headers={"X-Forwarded-For": forwarded},
        )
        assert r.status_code == 401, r.text
    row = await _last_failure(stack, admin, user_id)
    assert row["client_addr"] == expected


def test_trusted_proxies_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSEGTEXT_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")
    assert load_settings().trusted_proxies == ("10.0.0.0/8", "127.0.0.1", "::1")
    monkeypatch.setenv("MEDSEGTEXT_TRUSTED_PROXIES", "10.0.0.0/8,portal")
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        load_settings()
    monkeypatch.delenv("MEDSEGTEXT_TRUSTED_PROXIES")
    assert load_settings().trusted_proxies == ()


async def test_client_request_id_is_never_the_id(stack: Stack) -> None:
    r = await stack.client.get("/api/health", headers={"X-Request-ID": FORGED_ID})
    assert r.status_code == 200
    assert r.headers["x-request-id"] != FORGED_ID and len(r.headers["x-request-id"]) == 32
