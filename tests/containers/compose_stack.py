"""The product's compose stack on a real Docker engine, for the tests under tests/containers:
compose.yaml plus compose.local.yaml (PostgreSQL and Redis built from the local base), the
images `make images` built, under a project name of its own. It publishes on 127.0.0.1:3000 and
:8000, as a user's stack does: the portal image is built for http://localhost:3000 (its
default MEDSEGTEXT_PUBLIC_URL), the address the browser tests open."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "e2e"))
from e2e_stack import ACCOUNTS  # noqa: E402  (the browser tests' accounts, made here too)

PROJECT = "medsegtext-ct"
BIND = "127.0.0.1"
PORTS = (3000, 8000, 11112)  # the portal, the API, the DICOM node
#: services that stay up, with a health check each
SERVICES = ("postgres", "redis", "aws", "api", "worker", "frontend")
#: one-offs that must exit 0
ONE_OFFS = ("migrate", "aws-init")
IMAGES = ("api", "worker", "migrate", "frontend", "aws", "postgres", "redis")


def docker_missing() -> str | None:
    """Why no stack can run here, or None."""
    for tool in ("docker", "docker-compose"):
        if shutil.which(tool) is None:
            return f"no {tool} on PATH (apt-get install docker.io docker-compose)"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return (
            "no Docker engine reachable at DOCKER_HOST="
            f"{os.environ.get('DOCKER_HOST', 'unix:///var/run/docker.sock')} "
            '(eval "$(docker/engine.sh)")'
        )
    tag = os.environ.get("MEDSEGTEXT_TAG", "local")
    missing = [
        f"medsegtext/{name}:{tag}"
        for name in IMAGES
        if subprocess.run(
            ["docker", "image", "inspect", f"medsegtext/{name}:{tag}"], capture_output=True
        ).returncode
        != 0
    ]
    if missing:
        return f"images not built: {', '.join(missing)} (make images)"
    for port in PORTS:
        with socket.socket() as sock:
            if sock.connect_ex((BIND, port)) == 0:
                return f"{BIND}:{port} is taken (a `make up` running?): the stack publishes there"
    return None


@dataclass
class ComposeStack:
    admin_email: str = ACCOUNTS["admin"][0]
    admin_password: str = ACCOUNTS["admin"][1]
    env: dict[str, str] = field(default_factory=dict)
    #: more compose files (tests' overrides), after compose.yaml and compose.local.yaml
    extra_files: list[Path] = field(default_factory=list)
    #: seconds from the first `up` until each service was healthy (one-offs: exited 0)
    startup: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {
            **os.environ,
            "MEDSEGTEXT_SECRET_KEY": secrets.token_urlsafe(48),
            "MEDSEGTEXT_AWS_SECRET": secrets.token_urlsafe(30),
            "MEDSEGTEXT_ADMIN_EMAIL": self.admin_email,
            "MEDSEGTEXT_ADMIN_PASSWORD": self.admin_password,
            "MEDSEGTEXT_BIND": BIND,
            # the DICOM node's (profile "pacs", tests/containers/test_dicom_node.py): the key
            # that seals the identity map, and the one PACS it admits
            "MEDSEGTEXT_IDENTITY_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "MEDSEGTEXT_DICOM_CALLING_AETS": "TESTSCU",
            # creating a container copies its image in full on VFS storage: minutes
            "COMPOSE_HTTP_TIMEOUT": "600",
        }

    api_url = f"http://{BIND}:8000"
    portal_url = "http://localhost:3000"

    def compose(self, *args: str, timeout: float = 600) -> str:
        cmd = [
            "docker-compose",
            "-p",
            PROJECT,
            "-f",
            str(ROOT / "compose.yaml"),
            "-f",
            str(ROOT / "compose.local.yaml"),
            *(arg for f in self.extra_files for arg in ("-f", str(f))),
            *args,
        ]
        done = subprocess.run(
            cmd, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{' '.join(args)}: {done.stderr[-3000:]}"
        return done.stdout

    def container(self, service: str) -> str:
        ids = self.compose("ps", "-a", "-q", service).split()
        assert ids, f"no container for {service}"
        return ids[0]

    def inspect(self, service: str, field: str) -> Any:
        """A field of `docker inspect` of the service's container, e.g. "State"."""
        out = subprocess.run(
            ["docker", "inspect", "-f", f"{{{{json .{field}}}}}", self.container(service)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.loads(out)

    def state(self, service: str) -> dict[str, object]:
        state: dict[str, object] = self.inspect(service, "State")
        return state

    def gateway(self) -> str:
        """The stack network's gateway: the address the containers see connections to the
        published ports come from (deploy/README.md, "One host: compose")."""
        return subprocess.run(
            [
                "docker",
                "network",
                "inspect",
                "-f",
                "{{(index .IPAM.Config 0).Gateway}}",
                f"{PROJECT}_default",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def up(self, timeout: float = 900, services: tuple[str, ...] = SERVICES) -> dict[str, float]:
        """`up -d`, then wait until every service is healthy and the one-offs exited 0;
        seconds from the start of `up` until each was."""
        start = time.monotonic()
        self.compose("up", "-d", "--no-build", *services, timeout=timeout)
        ready: dict[str, float] = {}
        while len(ready) < len(services) + len(ONE_OFFS):
            for service in (*services, *ONE_OFFS):
                if service in ready:
                    continue
                state = self.state(service)
                if service in ONE_OFFS:
                    if state["Status"] == "exited":
                        assert state["ExitCode"] == 0, self.logs(service)
                        ready[service] = time.monotonic() - start
                else:
                    # "unhealthy" is no verdict yet: a check that timed out on a loaded
                    # machine passes later, as compose's depends_on also waits for healthy.
                    health = state.get("Health") or {}
                    assert isinstance(health, dict)
                    if health.get("Status") == "healthy":
                        ready[service] = time.monotonic() - start
            late = [s for s in (*services, *ONE_OFFS) if s not in ready]
            assert time.monotonic() - start < timeout, (
                f"not ready after {timeout} s: {late}\n" + "\n".join(self.logs(s) for s in late)
            )
            time.sleep(2)
        return ready

    def wait_healthy(self, service: str, timeout: float = 600) -> float:
        """Seconds until a service started on its own (a profile's) reported healthy."""
        start = time.monotonic()
        while (self.state(service).get("Health") or {}).get("Status") != "healthy":  # type: ignore[union-attr]
            assert time.monotonic() - start < timeout, self.logs(service)
            time.sleep(2)
        return time.monotonic() - start

    def headers(self, role: str) -> dict[str, str]:
        """A bearer token of one of ACCOUNTS' roles."""
        return self.login(*ACCOUNTS[role])

    def login(self, email: str, password: str) -> dict[str, str]:
        """A bearer token of this account."""
        r = httpx.post(
            f"{self.api_url}/api/auth/login",
            json={"email": email, "password": password},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def make_accounts(self) -> None:
        """The clinician and reviewer of ACCOUNTS, made by the admin aws-init created."""
        admin = self.headers("admin")
        for role in ("clinician", "reviewer"):
            email, password = ACCOUNTS[role]
            r = httpx.post(
                f"{self.api_url}/api/admin/users",
                headers=admin,
                json={"email": email, "password": password, "role": role, "full_name": role},
                timeout=30,
            )
            assert r.status_code == 201, r.text

    def kill(self, service: str) -> None:
        """SIGKILL to the service's main process from the host, as a crash or the kernel's OOM
        killer would: not `docker kill`, after which Docker counts the stop as wanted and
        does not restart the container."""
        pid = int(
            subprocess.run(
                ["docker", "inspect", "-f", "{{.State.Pid}}", self.container(service)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert pid > 0, f"{service} is not running"
        os.kill(pid, 9)

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", "--tail", "60", service)

    def down(self, volumes: bool = False) -> None:
        self.compose("down", *(["-v"] if volumes else []), "--remove-orphans")


def wait_done(api: httpx.Client, case_id: str, headers: dict[str, str], timeout: float) -> dict:
    """The case once its analysis has ended (done or failed)."""
    start = time.monotonic()
    while (case := api.get(f"/api/cases/{case_id}", headers=headers).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() - start < timeout, case
        time.sleep(1)
    return dict(case)
