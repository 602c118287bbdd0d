"""Issue 16's PACS budgets, against the stack as `make up` runs it and a real Orthanc.

Run: ``PYTHONPATH=. .venv/bin/python bench/pacs_roundtrip.py [-n 10] [--burst 200]
[--burst-jobs 4]`` (``--burst 0``: the round trip alone; ``-n 0``: the burst alone).
It starts the embedded stack (``bench/stack.py``: API, one worker with the shipped model, the
DICOM node) with ``PACS_SEND_PRELIMINARY`` on and Orthanc (Debian's, `make test-tools`; the
test fixture's configuration, ``tests/dicom_node/orthanc_kit.py``) as the PACS on both sides:
it pushes studies to the node and receives the results. Then:

1. **Round trip** (budget p50 <= 3 s): N times (after one warm-up), a fresh study (new Study,
   Series and SOP Instance UIDs) of the real DX chest film in ``samples/dicom`` is stored in
   Orthanc and pushed to the node by a synchronous C-STORE job; from the job's end (the node
   has answered the last C-STORE) Orthanc is polled every 50 ms (``/tools/find``, series of
   modality SEG in that study) until the SEG is there. The breakdown comes from the case's
   timestamps (server clock, same machine): queued (node answered -> job started), job (the
   inference job, whose ``timings_ms`` name the model call), to PACS (case done -> the SEG
   found: the outbox job, the association, the C-STORE, the poll).
2. **Burst** (budgets: none lost, node <= 300 MB): B fresh studies stored in Orthanc, then
   pushed at once as J concurrent C-STORE jobs (J = the node's association limit, 4); counts
   the cases the API lists and samples the node's resident memory every 20 ms, with its peak
   (VmHWM) at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.platform.embedded import free_port
from bench.stack import DEMO, ROOT, login, start_stack, stop_stack
from tests.dicom_node.dicom_testkit import identified
from tests.dicom_node.orthanc_kit import (
    NODE_MODALITY,
    ORTHANC_AE,
    Orthanc,
    OrthancPorts,
)

SAMPLE = ROOT.parent / "shared" / "data" / "samples" / "dicom" / "nccid-dx-1024.dcm"
POLL_S = 0.05
BUDGET_S = 3.0
BUDGET_MB = 300


def when(value: str) -> float:
    """An API timestamp (UTC, naive or not) as seconds since the epoch."""
    t = datetime.fromisoformat(value)
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def now_iso() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, in MB (10^6 bytes)."""
    fields = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    return (
        int(fields["VmRSS"].split()[0]) * 1024 / 1e6,
        int(fields["VmHWM"].split()[0]) * 1024 / 1e6,
    )


def node_pid(stack_pid: int) -> int:
    for task in Path(f"/proc/{stack_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"backend.dicom_node" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    raise SystemExit("the stack runs no DICOM node")


def seg_seen(orthanc: Orthanc, study_uid: str, timeout: float = 120) -> float:
    """Poll Orthanc until a SEG series is filed in the study; the time it was first seen."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=orthanc.url, timeout=10) as pacs:
        while time.monotonic() < deadline:
            r = pacs.post(
                "/tools/find",
                json={
                    "Level": "Series",
                    "Query": {"StudyInstanceUID": study_uid, "Modality": "SEG"},
                },
            )
            r.raise_for_status()
            if r.json():
                return time.time()
            time.sleep(POLL_S)
    raise SystemExit(f"no SEG in study {study_uid} after {timeout:.0f} s")


def round_trip(orthanc: Orthanc, api: httpx.Client, tmp: Path) -> dict[str, float]:
    """One study pushed to the node, until its SEG is in Orthanc; seconds per stage."""
    film = identified(SAMPLE)
    instance = orthanc.put(film, tmp)["ID"]
    since = now_iso()
    t_push = time.time()
    pushed = orthanc.push_to_node([instance])
    t_stored = time.time()
    assert pushed["InstancesCount"] == 1 and not pushed["FailedInstancesCount"], pushed
    t_seen = seg_seen(orthanc, str(film.StudyInstanceUID))
    listed = api.get("/api/cases", params={"created_from": since, "limit": 2}).json()
    assert listed["total"] == 1, listed
    case = api.get(f"/api/cases/{listed['items'][0]['id']}").json()
    started, done = when(case["started_at"]), when(case["finished_at"])
    return {
        "total": t_seen - t_stored,
        "c-store": t_stored - t_push,
        "queued": started - t_stored,
        "job": done - started,
        "model call": case["timings_ms"].get("model", 0) / 1000,
        "to PACS": t_seen - done,
    }


def run_round_trips(orthanc: Orthanc, api: httpx.Client, tmp: Path, n: int) -> None:
    load = os.getloadavg()[0]
    round_trip(orthanc, api, tmp)  # warm-up: the worker's first model call, first sends
    runs = [round_trip(orthanc, api, tmp) for _ in range(n)]
    totals = sorted(r["total"] for r in runs)
    p50 = statistics.median(totals)
    p90 = totals[min(len(totals) - 1, round(0.9 * (len(totals) - 1)))]
    print(
        f"\nround trip, last instance stored -> SEG in Orthanc, {n} studies "
        f"(load average {load:.1f} -> {os.getloadavg()[0]:.1f}):"
    )
    print(
        f"  p50 {p50:.2f} s, p90 {p90:.2f} s, max {totals[-1]:.2f} s "
        f"(budget p50 <= {BUDGET_S:.0f} s: {'met' if p50 <= BUDGET_S else 'NOT met'})"
    )
    print(
        "  median per stage: "
        + ", ".join(
            f"{k} {statistics.median(r[k] for r in runs):.2f} s"
            for k in ("c-store", "queued", "job", "model call", "to PACS")
        )
    )
    print(
        "  (c-store: Orthanc's job, before the clock starts; queued + job + to PACS = total;"
        " the model call is part of the job)"
    )


def store_job(orthanc: Orthanc, resources: list[str]) -> dict[str, Any]:
    """An asynchronous C-STORE job to the node, waited for; Orthanc's job record."""
    r = httpx.post(
        f"{orthanc.url}/modalities/{NODE_MODALITY}/store",
        timeout=30,
        json={"Resources": resources, "Synchronous": False, "Permissive": True},
    )
    r.raise_for_status()
    job = r.json()["ID"]
    while True:
        state = httpx.get(f"{orthanc.url}/jobs/{job}", timeout=30).json()
        if state["State"] in ("Success", "Failure"):
            return dict(state)
        time.sleep(0.2)


def run_burst(
    orthanc: Orthanc, api: httpx.Client, tmp: Path, stack_pid: int, count: int, jobs: int
) -> None:
    pid = node_pid(stack_pid)
    instances = []
    for _ in range(count):
        path = tmp / "film.dcm"
        identified(SAMPLE).save_as(path, enforce_file_format=True)
        r = httpx.post(f"{orthanc.url}/instances", content=path.read_bytes(), timeout=30)
        r.raise_for_status()
        instances.append(r.json()["ID"])
    rss_before = memory_mb(pid)[0]
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(memory_mb(pid)[0])
            time.sleep(0.02)

    load = os.getloadavg()[0]
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    since = now_iso()
    t0 = time.monotonic()
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(
            target=lambda part=instances[i::jobs]: results.append(store_job(orthanc, part))
        )
        for i in range(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_pushed = time.monotonic() - t0
    stop.set()
    sampler.join()
    rss_now, hwm = memory_mb(pid)
    made = api.get("/api/cases", params={"created_from": since, "limit": 1}).json()["total"]
    failed = sum(int(j["Content"].get("FailedInstancesCount", 0)) for j in results)
    print(
        f"\nburst: {count} instances pushed as {jobs} concurrent C-STORE jobs "
        f"(load average {load:.1f} -> {os.getloadavg()[0]:.1f}):"
    )
    print(
        f"  all pushed in {t_pushed:.1f} s; jobs {[j['State'] for j in results]}, "
        f"instances Orthanc counted failed: {failed}"
    )
    print(f"  cases made: {made} of {count} ({'none lost' if made == count else 'LOST'})")
    print(
        f"  node resident memory: {rss_before:.0f} MB before, peak sampled "
        f"{max(samples):.0f} MB ({len(samples)} samples), peak since start (VmHWM) "
        f"{hwm:.0f} MB, {rss_now:.0f} MB after (budget <= {BUDGET_MB} MB: "
        f"{'met' if hwm <= BUDGET_MB else 'NOT met'})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=10, help="round trips (after one warm-up)")
    p.add_argument("--burst", type=int, default=200, help="instances pushed at once")
    p.add_argument("--burst-jobs", type=int, default=4, help="concurrent C-STORE jobs")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="pacs-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        ports, node_port = OrthancPorts(), free_port()
        proc, url = start_stack(
            tmp / "stack",
            dicom_port=node_port,
            settings={
                "MEDSEGTEXT_PACS_AE_TITLE": ORTHANC_AE,
                "MEDSEGTEXT_PACS_HOST": "127.0.0.1",
                "MEDSEGTEXT_PACS_PORT": str(ports.dicom),
                "MEDSEGTEXT_PACS_SEND_PRELIMINARY": "true",
            },
        )
        (tmp / "orthanc").mkdir()
        orthanc = Orthanc(ports, tmp / "orthanc", node_port)
        try:
            orthanc.start()
            token = login(url, *DEMO["admin"])
            with httpx.Client(
                base_url=url, timeout=30, headers={"authorization": f"Bearer {token}"}
            ) as api:
                if args.n:
                    run_round_trips(orthanc, api, tmp, args.n)
                if args.burst:
                    run_burst(orthanc, api, tmp, proc.pid, args.burst, args.burst_jobs)
        finally:
            orthanc.stop()
            stop_stack(proc)


if __name__ == "__main__":
    main()
