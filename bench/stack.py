"""What the benches share: start the dev stack in a temp data dir, stop it, sign in.

``start_stack`` runs ``python -m backend.devstack`` on a free port without the portal. By
default every dependency is embedded (DATABASE_URL, REDIS_URL and MEDSEGTEXT_* are dropped from
the environment); ``services`` keeps DATABASE_URL / REDIS_URL so the stack uses those.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backend.platform.embedded import free_port  # noqa: E402

IMAGES = ROOT.parent / "shared" / "data" / "qata-cov19" / "images"
DEMO = {
    "clinician": ("clinician@example.org", "clinician-demo-pass"),
    "reviewer": ("reviewer@example.org", "reviewer-demo-pass"),
    "admin": ("admin@example.org", "admin-demo-pass"),
}


def start_stack(
    data_dir: Path,
    *,
    services: dict[str, str] | None = None,
    workers: int = 1,
    api_processes: int | None = None,
    dicom_port: int | None = None,
    settings: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], str]:
    """Start the stack and return (process, API base URL) once it printed "ready".

    ``services``: DATABASE_URL / REDIS_URL to use instead of the embedded SQLite and Redis;
    ``dicom_port``: the DICOM node's port (default: devstack's choice); ``settings``: more
    ``MEDSEGTEXT_*`` variables (e.g. the PACS results go back to).
    """
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("MEDSEGTEXT_")
    }
    env.update(services or {})
    # the benches measure throughput, not the per-user upload limits (backend.cases.limits)
    env.update({"MEDSEGTEXT_UPLOADS_PER_MINUTE": "0", "MEDSEGTEXT_STAT_UPLOADS_PER_HOUR": "0"})
    env.update(settings or {})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.devstack",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--workers",
            str(workers),
            "--frontend-port",
            "0",
            *(["--api-processes", str(api_processes)] if api_processes else []),
            *(["--dicom-port", str(dicom_port)] if dicom_port is not None else []),
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if m := re.match(r"ready in ([\d.]+) s", line):
            print(f"stack ready in {m.group(1)} s (port {port})")
            break
    else:
        raise SystemExit(f"the stack did not start (exit code {proc.wait()})")
    # keep reading, so a chatty child can never block on a full pipe
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, f"http://127.0.0.1:{port}"


def stop_stack(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    return [
        int(c)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for c in (task / "children").read_text().split()
    ]


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def stack_processes(pid: int) -> dict[str, int]:
    """The dev stack's process (moto runs in it) and its children, by role; with several API
    processes, uvicorn's supervisor ("api"), each of its workers ("api-1", ...) and
    multiprocessing's resource tracker."""
    out = {"devstack+moto": pid}
    for child in _children(pid):
        cmd = _cmdline(child)
        name = "api" if "uvicorn" in cmd else "worker" if "arq" in cmd else cmd[:20]
        out[name if name not in out else f"{name}-{child}"] = child
        if name == "api":
            workers = 0
            for grandchild in _children(child):
                if "resource_tracker" in _cmdline(grandchild):
                    out["api-resource-tracker"] = grandchild
                else:
                    workers += 1
                    out[f"api-{workers}"] = grandchild
    return out


def login(api: str, email: str, password: str) -> str:
    """A bearer token for this account."""
    r = httpx.post(f"{api}/api/auth/login", json={"email": email, "password": password}, timeout=30)
    r.raise_for_status()
    return str(r.json()["token"])


async def wait_finished(client: httpx.AsyncClient, since: str, expected: int) -> None:
    """Until `expected` cases created since `since` are done (the client may list them all);
    one cheap count per half second, so polling adds no load of note. A failed case ends the
    bench."""
    while True:
        await asyncio.sleep(0.5)
        counts = {}
        for status in ("done", "failed"):
            r = await client.get(
                "/api/cases", params={"status": status, "created_from": since, "limit": 1}
            )
            r.raise_for_status()
            counts[status] = r.json()["total"]
        if counts["failed"]:
            raise SystemExit(f"{counts['failed']} cases failed")
        if counts["done"] >= expected:
            return
