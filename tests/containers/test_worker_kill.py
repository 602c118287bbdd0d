"""The worker container's process killed mid-job (SIGKILL from the host, as a crash or the OOM
killer would): Docker restarts the container (restart: unless-stopped), and every case of the
batch still finishes, the one that was running included, once arq's in-progress lock on it
lapses (job_timeout_seconds + 10 s, the production 120 s here)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.containers.compose_stack import ComposeStack

pytestmark = pytest.mark.timeout(1800)
FILMS = 8


def test_a_worker_killed_mid_job_and_every_case_still_finishes(
    compose_stack: ComposeStack, shared_data
) -> None:
    clinician = compose_stack.headers("clinician")
    images = sorted((shared_data / "qata-cov19" / "images").glob("covid_2*.png"))[:FILMS]
    before = int(compose_stack.inspect("worker", "RestartCount"))
    with httpx.Client(base_url=compose_stack.api_url, timeout=30, headers=clinician) as api:
        ids = []
        for path in images:
            r = api.post(
                "/api/cases",
                files={"file": (path.name, path.read_bytes(), "image/png")},
                data={"patient_ref": f"KILL-{path.stem}"},
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        deadline = time.monotonic() + 120
        while True:
            status = {i: api.get(f"/api/cases/{i}").json()["status"] for i in ids}
            running = [i for i, s in status.items() if s == "running"]
            if running:
                break
            assert time.monotonic() < deadline, f"no case started: {status}"
            time.sleep(0.1)
        compose_stack.kill("worker")
        killed_at = time.monotonic()
        print(f"killed the worker with {running} running; statuses then: {status}")
        done: dict[str, dict] = {}
        while len(done) < len(ids):
            for i in ids:
                if i not in done:
                    case = api.get(f"/api/cases/{i}").json()
                    if case["status"] not in ("queued", "running"):
                        done[i] = case
            assert time.monotonic() - killed_at < 600, {
                i: api.get(f"/api/cases/{i}").json()["status"] for i in ids if i not in done
            }
            time.sleep(2)
        print(f"all {len(ids)} done {time.monotonic() - killed_at:.0f} s after the kill")
    assert int(compose_stack.inspect("worker", "RestartCount")) > before
    assert {c["status"] for c in done.values()} == {"done"}, done
    assert all(c["findings_text"] for c in done.values())
