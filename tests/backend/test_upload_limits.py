"""Per-user upload limits and the STAT rules (issue 12: 80 STAT uploads in 3.5 s took 12 of the
top 20 worklist places). Limits are counted in the database, so they hold across API processes:
two real uvicorn processes, sent concurrent uploads, share one count."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from backend.platform.embedded import free_port
from backend.settings import Settings
from tests.backend.backend_testkit import Stack, png_bytes, upload_files
from tests.backend.test_upload_cleanup import bucket_keys

REASON = "suspected tension pneumothorax"
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def api_process(settings: Settings) -> Iterator[str]:
    """The API under uvicorn in a process of its own, on these settings; yields its URL."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **settings.environment_variables()}
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (proc.stderr.read() if proc.stderr else b"").decode()
            assert time.monotonic() < deadline, "the API process did not start"
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


async def _post(stack: Stack, headers: dict[str, str], **form: str) -> Any:
    return await stack.client.post(
        "/api/cases", headers=headers, files=upload_files(png_bytes()), data=form or None
    )


async def test_stat_needs_a_reason(stack: Stack, clinician, admin) -> None:
    keys, cases = bucket_keys(stack), await stack.case_count()
    for form in ({"priority": "stat"}, {"priority": "stat", "priority_reason": "  "}):
        r = await _post(stack, clinician[1], **form)
        assert r.status_code == 400, r.text
        assert "priority_reason" in r.json()["detail"]
    too_long = await _post(stack, clinician[1], priority="stat", priority_reason="x" * 501)
    assert too_long.status_code == 400 and "priority_reason" in too_long.json()["detail"]
    spoof = await _post(stack, clinician[1], priority="stat", priority_reason="ok\u202eevil")
    assert spoof.status_code == 400 and "priority_reason" in spoof.json()["detail"]
    assert (bucket_keys(stack), await stack.case_count()) == (keys, cases)

    r = await _post(stack, clinician[1], priority="stat", priority_reason=f" {REASON} ")
    assert r.status_code == 202, r.text
    case_id = r.json()["id"]
    assert r.json()["priority_reason"] == REASON
    detail = (await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])).json()
    assert (detail["priority"], detail["priority_reason"]) == ("stat", REASON)
    listed = (
        await stack.client.get("/api/cases?priority=stat&limit=100", headers=clinician[1])
    ).json()["items"]
    assert [c["priority_reason"] for c in listed if c["id"] == case_id] == [REASON]
    events = (
        await stack.client.get(
            f"/api/admin/audit?action=case.upload&object_id={case_id}", headers=admin[1]
        )
    ).json()
    assert events["items"][0]["detail"]["priority_reason"] == REASON
    assert events["items"][0]["detail"]["priority"] == "stat"
    # other priorities need none, and keep one when given
    routine = await _post(stack, clinician[1])
    assert routine.status_code == 202 and routine.json()["priority_reason"] is None


async def test_upload_rate_per_user(stack: Stack, other_stack) -> None:
    async with other_stack(uploads_per_minute=3) as limited:
        _, headers = await limited.user_headers("clinician")
        _, other = await limited.user_headers("clinician")
        for _ in range(3):
            assert (await _post(limited, headers)).status_code == 202
        keys, cases = bucket_keys(limited), await limited.case_count()
        r = await _post(limited, headers)
        assert r.status_code == 429, r.text
        assert r.json()["rule"] == "uploads_per_minute" and "3 per minute" in r.json()["detail"]
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert (bucket_keys(limited), await limited.case_count()) == (keys, cases)
        assert (await _post(limited, other)).status_code == 202  # per user, not global


async def test_stat_cap_per_hour(stack: Stack, other_stack) -> None:
    async with other_stack(stat_uploads_per_hour=2, uploads_per_minute=0) as limited:
        _, headers = await limited.user_headers("clinician")
        for _ in range(2):
            r = await _post(limited, headers, priority="stat", priority_reason=REASON)
            assert r.status_code == 202, r.text
        r = await _post(limited, headers, priority="stat", priority_reason=REASON)
        assert r.status_code == 429, r.text
        assert r.json()["rule"] == "stat_uploads_per_hour"
        assert "STAT" in r.json()["detail"] and "2 per hour" in r.json()["detail"]
        assert 60 < int(r.headers["retry-after"]) <= 3600
        urgent = await _post(limited, headers, priority="urgent")
        assert urgent.status_code == 202, r.text  # the cap is on STAT only


async def test_concurrent_stat_uploads_to_two_processes_share_one_cap(stack: Stack) -> None:
    cap, tries = 3, 12
    limited = stack.settings.model_copy(
        update={"stat_uploads_per_hour": cap, "uploads_per_minute": 0}
    )
    _, headers = await stack.user_headers("clinician")
    keys = bucket_keys(stack)
    with ExitStack() as processes:
        urls = [processes.enter_context(api_process(limited)) for _ in range(2)]
        clients = [httpx.AsyncClient(base_url=u, headers=headers, timeout=60) for u in urls]
        try:
            answers = await asyncio.gather(
                *(
                    clients[i % 2].post(
                        "/api/cases",
                        files=upload_files(png_bytes()),
                        data={"priority": "stat", "priority_reason": REASON},
                    )
                    for i in range(tries)
                )
            )
        finally:
            for c in clients:
                await c.aclose()
    codes = sorted(r.status_code for r in answers)
    assert codes == [202] * cap + [429] * (tries - cap), [r.text for r in answers]
    page = (await stack.client.get("/api/cases?priority=stat&limit=100", headers=headers)).json()
    assert page["total"] == cap
    assert len(bucket_keys(stack) - keys) == cap  # the refused ones left no object
