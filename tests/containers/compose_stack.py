"""The product's compose stack on a real Docker engine, for the tests under tests/containers:
compose.yaml plus compose.local.yaml (PostgreSQL and Redis built from the local base), the
images `make images` built, a project name and loopback address of its own."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "medsegtext-ct"
#: published ports go to this loopback address, clear of anything on 127.0.0.1:8000/3000
BIND = "127.0.0.73"
#: services that stay up, with a health check each. Not the portal: its container runs
#: `bun install` on every start (Reflex re-initialises .web), which hangs where containers
#: reach no npm registry, as on the development machines (deploy/README.md).
SERVICES = ("postgres", "redis", "aws", "api", "worker")
#: one-offs that must exit 0
ONE_OFFS = ("migrate", "aws-init")
IMAGES = ("api", "worker", "migrate", "postgres", "redis")


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
    return f"images not built: {', '.join(missing)} (make images)" if missing else None


@dataclass
class ComposeStack:
    admin_email: str = "admin@compose-test.example.org"
    admin_password: str = field(default_factory=lambda: "Ct-" + secrets.token_urlsafe(18))
    env: dict[str, str] = field(default_factory=dict)
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
            # creating a container copies its image in full on VFS storage: minutes
            "COMPOSE_HTTP_TIMEOUT": "600",
            "MEDSEGTEXT_PUBLIC_URL": f"http://{BIND}:3000",
        }

    api_url = f"http://{BIND}:8000"

    def compose(self, *args: str, timeout: float = 600) -> str:
        cmd = [
            "docker-compose",
            "-p",
            PROJECT,
            "-f",
            str(ROOT / "compose.yaml"),
            "-f",
            str(ROOT / "compose.local.yaml"),
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

    def state(self, service: str) -> dict[str, object]:
        out = subprocess.run(
            ["docker", "inspect", "-f", "{{json .State}}", self.container(service)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        state: dict[str, object] = json.loads(out)
        return state

    def up(self, timeout: float = 900) -> dict[str, float]:
        """`up -d`, then wait until every service is healthy and the one-offs exited 0;
        seconds from the start of `up` until each was."""
        start = time.monotonic()
        self.compose("up", "-d", "--no-build", *SERVICES, timeout=timeout)
        ready: dict[str, float] = {}
        while len(ready) < len(SERVICES) + len(ONE_OFFS):
            for service in (*SERVICES, *ONE_OFFS):
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
            late = [s for s in (*SERVICES, *ONE_OFFS) if s not in ready]
            assert time.monotonic() - start < timeout, (
                f"not ready after {timeout} s: {late}\n" + "\n".join(self.logs(s) for s in late)
            )
            time.sleep(2)
        return ready

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", "--tail", "60", service)

    def down(self, volumes: bool = False) -> None:
        self.compose("down", *(["-v"] if volumes else []), "--remove-orphans")
