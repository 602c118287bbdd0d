"""The processes `make up` supervises (backend.devstack): which ones, started how, when the
stack counts as ready, and how they are stopped, each with what it started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx

from backend.settings import ROOT

READY_TIMEOUT_S = 420.0  # the portal's first start installs Reflex and bun and builds the bundle
WORKER_HEALTH_KEY = "arq:queue:health-check"  # arq writes it on a worker's first poll


def say(line: str, error: bool = False) -> None:
    """Print while stopping: whoever read our output may be gone (a closed pipe), and the
    stack must be stopped all the same."""
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr if error else sys.stdout, flush=True)


@dataclass
class Child:
    """One process of the product; the frontend (a later issue) adds its own entry."""

    name: str
    argv: list[str]
    url: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)  # on top of the stack's environment
    listen: tuple[str, int] | None = None  # a TCP port it is ready once it accepts on


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def children(
    host: str,
    port: int,
    workers: int,
    frontend_port: int,
    api_processes: int = 1,
    dicom_port: int = 0,
) -> list[Child]:
    """The product's processes: API first, then workers, the DICOM node, then the portal
    (port 0 = none).

    uvicorn rewrites no client address (--no-proxy-headers): the API trusts X-Forwarded-For
    only from MEDSEGTEXT_TRUSTED_PROXIES (backend.http.proxies). With the portal, which calls
    from this host and forwards the browser's address, that is 127.0.0.1 unless set."""
    py = sys.executable
    api = Child(
        "api",
        [
            py,
            "-m",
            "uvicorn",
            "backend.app:create_app",
            "--factory",
            "--host",
            host,
            "--port",
            str(port),
            "--no-access-log",
            "--no-proxy-headers",
            "--workers",
            str(api_processes),
        ],
        url=f"http://{host}:{port}",
    )
    if frontend_port and "MEDSEGTEXT_TRUSTED_PROXIES" not in os.environ:
        api.env["MEDSEGTEXT_TRUSTED_PROXIES"] = "127.0.0.1"
    procs = [api] + [
        Child(f"worker-{i + 1}", [py, "-m", "arq", "backend.worker.settings.WorkerSettings"])
        for i in range(workers)
    ]
    if dicom_port:
        from backend.dicom_node.dev import child_env

        procs.append(
            Child(
                "dicom-node",
                [py, "-m", "backend.dicom_node"],
                env=child_env(host, dicom_port),
                listen=(host, dicom_port),
            )
        )
    if frontend_port:
        procs.append(
            Child(
                "portal",
                ["bash", str(ROOT / "frontend" / "run.sh")],
                url=f"http://{host}:{frontend_port}",
            )
        )
    return procs


def wait_ready(
    api_url: str, redis_url: str, procs: list[Child], stop: list[int], portal_url: str | None = None
) -> float:
    """Until /api/ready is 200, every worker has written its arq health key, the DICOM node
    (when there is one) accepts connections and the portal (when there is one) answers /ping."""
    import redis

    from backend.dicom_node.dev import listening

    t0 = time.monotonic()
    r = redis.Redis.from_url(redis_url)
    api_ok, portal_ok, listens = False, portal_url is None, False
    try:
        while time.monotonic() - t0 < READY_TIMEOUT_S and not stop:
            for c in procs:
                if c.proc is not None and c.proc.poll() is not None:
                    raise RuntimeError(f"{c.name} exited with code {c.proc.returncode}")
            if not api_ok:
                with contextlib.suppress(httpx.HTTPError):
                    api_ok = httpx.get(f"{api_url}/api/ready", timeout=2).status_code == 200
            if not portal_ok:
                with contextlib.suppress(httpx.HTTPError):
                    portal_ok = httpx.get(f"{portal_url}/ping", timeout=2).status_code == 200
            worker_ok = bool(r.exists(WORKER_HEALTH_KEY))
            # probed until it answers once: each accepted probe holds one of the node's
            # connection places until its ARTIM timer ends (backend.dicom_node.admission), and
            # a probe every 0.2 s while the portal builds filled them all
            listens = listens or all(listening(*c.listen) for c in procs if c.listen)
            if api_ok and worker_ok and portal_ok and listens:
                return time.monotonic() - t0
            time.sleep(0.2)
    finally:
        r.close()
    raise RuntimeError("stopped" if stop else f"not ready after {READY_TIMEOUT_S:.0f} s")


def forget_worker_health(redis_url: str) -> None:
    """A worker that died without cleaning up leaves its health key; ready must mean a new one."""
    import redis

    with redis.Redis.from_url(redis_url) as r:
        r.delete(WORKER_HEALTH_KEY)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we cannot signal still exists
        return True
    return True


def stop_children(procs: list[Child], grace_s: float = 10.0) -> None:
    """SIGTERM to each child's whole process group (each runs in its own session, so the
    group holds what it started too: uvicorn's workers, the portal's Reflex servers), then
    wait until every group is empty; SIGKILL to what is left after `grace_s`."""
    started = [c for c in procs if c.proc is not None]
    for c in started:
        assert c.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(c.proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for c in started:
        assert c.proc is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            c.proc.wait(max(0.1, deadline - time.monotonic()))
        while _group_alive(c.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if c.proc.poll() is None or _group_alive(c.proc.pid):
            say(f"  {c.name} did not stop in {grace_s:.0f} s; killing it", error=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(c.proc.pid, signal.SIGKILL)
            c.proc.wait()
            gone_by = time.monotonic() + 5
            while _group_alive(c.proc.pid) and time.monotonic() < gone_by:
                time.sleep(0.05)
