"""Memory of each container of a running compose stack, idle and under the load bench.

Run (the stack of `make compose-test`, or any `docker compose up`, with its admin's account):
``PYTHONPATH=. .venv/bin/python bench/container_memory.py --project medsegtext-ct
--api http://127.0.0.1:8000 [--duration 60] [--users 50] [load_test.py's options]``, e.g.
``--admin-email e2e-admin@example.org --admin-password e2e-admin-password`` for the stack of
tests/containers.

It samples `docker stats` (the cgroup's memory use, what the kernel's OOM killer and ECS's
memory limit count) for every container of the project: 10 samples idle, then every ~2 s
while bench/load_test.py runs against the API (its own setup, seed uploads included), and
prints per service the idle median and the peak under load, in MiB, with load_test's summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNITS = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}


def mib(usage: str) -> float:
    """`docker stats`' "123.4MiB / 7.6GiB" -> 123.4."""
    used = usage.split("/")[0].strip()
    for unit in sorted(UNITS, key=len, reverse=True):
        if used.endswith(unit):
            return float(used[: -len(unit)]) * UNITS[unit]
    raise ValueError(usage)


def sample(project: str) -> dict[str, float]:
    """service -> MiB now, for the project's running containers."""
    ids = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not ids:
        sys.exit(f"no running containers of compose project {project}")
    out = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{json .}}", *ids],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = subprocess.run(
        ["docker", "inspect", "-f", '{{index .Config.Labels "com.docker.compose.service"}}', *ids],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    by_id = dict(zip(ids, names, strict=True))
    found: dict[str, float] = {}
    for line in out.splitlines():
        row = json.loads(line)
        service = next(s for i, s in by_id.items() if row["ID"].startswith(i[:12]))
        found[service] = found.get(service, 0.0) + mib(row["MemUsage"])
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--project", default="medsegtext-ct")
    p.add_argument("--api", default="http://127.0.0.1:8000")
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--users", type=int, default=50)
    args, load_options = p.parse_known_args()  # the rest goes to load_test.py

    idle = [sample(args.project) for _ in range(10)]
    load = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "load_test.py"),
            *("--api", args.api, "--duration", str(args.duration)),
            *("--users", str(args.users)),
            *load_options,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peaks: dict[str, float] = {}
    report: list[str] = []
    reader = threading.Thread(target=lambda: report.extend(load.stdout or []), daemon=True)
    reader.start()
    while load.poll() is None:
        for service, used in sample(args.project).items():
            peaks[service] = max(peaks.get(service, 0.0), used)
        time.sleep(2)
    reader.join()
    print("".join(report[-40:]))
    print(f"{'service':<14}{'idle MiB':>10}{'peak under load MiB':>22}")
    for service in sorted(peaks | idle[0]):
        at_rest = statistics.median(s.get(service, 0.0) for s in idle)
        print(f"{service:<14}{at_rest:>10.0f}{peaks.get(service, 0.0):>22.0f}")
    if load.returncode != 0:
        sys.exit(f"load_test.py exited {load.returncode}")


if __name__ == "__main__":
    main()
