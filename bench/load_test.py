"""Load: N concurrent simulated portal users against the stack for a fixed time.

Run: ``.venv/bin/python bench/load_test.py [--duration 60] [--users 50] [--think 1.0]
[--services [--reset]] [--api URL] [--json FILE] [--profile FILE]``.

Without --api it starts the stack (``bench.stack.start_stack``: a temp data dir, free port, no
portal), embedded by default; ``--services`` uses DATABASE_URL / REDIS_URL from the environment
or PostgreSQL database ``loadtest`` and Redis db 9 on 127.0.0.1 (``--reset`` drops and recreates
that database and flushes that Redis db first, so runs start alike).

Setup (not measured): as the admin it creates clinician and reviewer accounts through
/api/admin/users, uploads --seed real QaTa-COV19 X-rays as the clinicians and waits until the
worker has finished them; every simulated user signs in with its own session.

Measured: each user repeats, with a think time of uniform(0.5, 1.5) x --think between actions:
- worklist (GET /api/cases) with the portal's filters, search and paging;
- case view: GET /api/cases/{id}, then for a done case the image (or its PNG preview), mask and
  overlay, fetched together as the browser does;
- /api/me now and then; clinicians upload a new X-ray (a small share), reviewers review a case
  (a small share). Clinicians see their own cases, reviewers all.
Reports per route: count, req/s, p50/p95/p99 latency, errors (any status >= 400, exception or
timeout), overall req/s and error rate, read p95 across all GETs, the load average at start and
end, and PASS/FAIL against the budget: no errors and read p95 < 200 ms.
``--profile FILE`` samples the API process with py-spy (``pip install py-spy``) during the
measured window, writes collapsed stacks to FILE and prints the functions that use most CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.load_setup import PASSWORD, create_accounts, reset_services, seed, sign_in_all
from bench.stack import (
    DEMO,
    IMAGES,
    cpu_seconds,
    login,
    stack_processes,
    start_stack,
    stop_stack,
)

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/loadtest"
REDIS_DEFAULT = "redis://127.0.0.1:6379/9"
READ_P95_BUDGET_MS = 200.0
KEEPALIVE_S = 4.0  # below uvicorn's 5 s keep-alive, so no request races a closing connection
SEARCH_TERMS = ("bilateral", "lower left", "P-01", "covid_1", "right lung")
WORKLIST_FILTERS: tuple[dict[str, Any], ...] = (
    {},
    {"status": "done"},
    {"status": "done", "review_state": "unreviewed"},
    {"sort": "newest"},
    {"priority": "urgent"},
    {"sort": "oldest", "status": "done"},
)


@dataclass
class Stats:
    """Latencies and failures per route template, shared by all users."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)  # one error message per route

    def add(self, route: str, ms: float, error: str | None) -> None:
        self.latencies[route].append(ms)
        if error:
            self.errors[route] += 1
            self.samples.setdefault(route, error)


@dataclass
class User:
    """One simulated person: a signed-in client and the cases it last saw. Its client is
    aiohttp: the load generator shares the stack's 2 cores, and aiohttp spends about a third of
    httpx's CPU per request, leaving more of them to the API being measured."""

    role: str
    client: aiohttp.ClientSession
    stats: Stats
    rng: random.Random
    cases: list[dict[str, Any]] = field(default_factory=list)

    async def call(self, route: str, method: str, url: str, **kw: Any) -> bytes | None:
        """The body of a 2xx/3xx answer, else None; latency and any error recorded."""
        t0 = time.perf_counter()
        try:
            async with self.client.request(method, url, **kw) as r:
                body = await r.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            self.stats.add(route, (time.perf_counter() - t0) * 1000, f"{type(e).__name__}: {e}")
            return None
        ms = (time.perf_counter() - t0) * 1000
        failed = r.status >= 400
        self.stats.add(route, ms, f"{r.status} {body[:200]!r}" if failed else None)
        return None if failed else body

    async def worklist(self) -> None:
        params: dict[str, Any] = dict(self.rng.choice(WORKLIST_FILTERS))
        if self.rng.random() < 0.2:
            params["q"] = self.rng.choice(SEARCH_TERMS)
        if self.rng.random() < 0.3:
            params["offset"] = self.rng.choice((20, 40))
        body = await self.call("GET /api/cases", "GET", "/api/cases", params=params)
        if body is not None and (items := json.loads(body)["items"]):
            self.cases = items

    async def case_view(self) -> None:
        if not self.cases:
            return await self.worklist()
        cid = self.rng.choice(self.cases)["id"]
        body = await self.call("GET /api/cases/{id}", "GET", f"/api/cases/{cid}")
        if body is None or json.loads(body)["status"] != "done":
            return None
        base = "preview" if self.rng.random() < 0.3 else "image"
        await asyncio.gather(
            *(
                self.call(f"GET /api/cases/{{id}}/{kind}", "GET", f"/api/cases/{cid}/{kind}")
                for kind in (base, "mask", "overlay")
            )
        )
        return None

    async def me(self) -> None:
        await self.call("GET /api/me", "GET", "/api/me")

    async def upload(self, images: list[Path]) -> None:
        path = self.rng.choice(images)
        form = aiohttp.FormData()
        form.add_field("file", path.read_bytes(), filename=path.name, content_type="image/png")
        form.add_field("patient_ref", f"P-{self.rng.randrange(10000):04d}")
        priority = self.rng.choice(("routine", "routine", "urgent", "stat"))
        form.add_field("priority", priority)
        if priority == "stat":  # STAT needs a reason
            form.add_field("priority_reason", "load test: simulated emergency")
        await self.call("POST /api/cases", "POST", "/api/cases", data=form)

    async def review(self) -> None:
        done = [c for c in self.cases if c["status"] == "done"]
        if not done:
            return await self.worklist()
        cid = self.rng.choice(done)["id"]
        decision = self.rng.choice(("accept", "accept", "reject"))
        await self.call(
            "POST /api/cases/{id}/review",
            "POST",
            f"/api/cases/{cid}/review",
            json={"decision": decision, "comment": "load test"},
        )
        return None

    async def run(
        self, deadline: float, think_s: float, upload_share: float, images: list[Path]
    ) -> None:
        await asyncio.sleep(self.rng.uniform(0, think_s))  # users arrive spread out
        await self.worklist()
        while time.monotonic() < deadline:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * think_s)
            if time.monotonic() >= deadline:
                break
            x = self.rng.random()
            if x < upload_share:
                await (self.upload(images) if self.role == "clinician" else self.review())
            elif x < 0.05 + upload_share:
                await self.me()
            elif x < 0.50:
                await self.worklist()
            else:
                await self.case_view()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of unsorted values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# ---------------------------------------------------------------- run and report


async def run_users(
    api: str, people: list[tuple[str, str]], tokens: list[str], args: Any, images: list[Path]
) -> tuple[Stats, float]:
    stats = Stats()
    users = [
        User(
            role,
            aiohttp.ClientSession(
                base_url=api,
                timeout=aiohttp.ClientTimeout(total=args.timeout),
                headers={"Authorization": f"Bearer {token}"},
                connector=aiohttp.TCPConnector(limit=4, keepalive_timeout=KEEPALIVE_S),
            ),
            stats,
            random.Random(1000 + i),
        )
        for i, ((role, _), token) in enumerate(zip(people, tokens, strict=True))
    ]
    t0 = time.monotonic()
    try:
        await asyncio.gather(
            *(u.run(t0 + args.duration, args.think, args.upload_share, images) for u in users)
        )
    finally:
        for u in users:
            await u.client.close()
    return stats, time.monotonic() - t0


def report(
    stats: Stats,
    elapsed: float,
    load: dict[str, tuple[float, float, float]],
    cpu: dict[str, float],
    args: Any,
    mode: str,
) -> dict[str, Any]:
    routes: list[dict[str, Any]] = []
    for route in sorted(stats.latencies):
        lat = stats.latencies[route]
        routes.append(
            {
                "route": route,
                "count": len(lat),
                "rps": len(lat) / elapsed,
                "p50_ms": percentile(lat, 50),
                "p95_ms": percentile(lat, 95),
                "p99_ms": percentile(lat, 99),
                "errors": stats.errors[route],
            }
        )
    total = sum(r["count"] for r in routes)
    errors = sum(stats.errors.values())
    reads = [ms for route, lat in stats.latencies.items() if route.startswith("GET") for ms in lat]
    read_p95 = percentile(reads, 95) if reads else float("nan")
    passed = errors == 0 and read_p95 < READ_P95_BUDGET_MS
    print(f"\n### {mode}: {args.users} users, {args.duration:.0f} s, think {args.think} s\n")
    print("| endpoint | count | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in routes:
        print(
            f"| `{r['route']}` | {r['count']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} |"
        )
    print(f"| **all** | {total} | {total / elapsed:.1f} | | | | {errors} |")
    print(
        f"\noverall {total / elapsed:.1f} req/s over {elapsed:.1f} s; error rate "
        f"{errors / max(total, 1):.2%}; read p95 {read_p95:.1f} ms (budget < "
        f"{READ_P95_BUDGET_MS:.0f} ms): {'PASS' if passed else 'FAIL'}"
    )
    print(
        "load average (1/5/15 min): start "
        + " / ".join(f"{x:.2f}" for x in load["start"])
        + ", end "
        + " / ".join(f"{x:.2f}" for x in load["end"])
    )
    if cpu:
        print("CPU seconds during the run: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    for route, sample in stats.samples.items():
        print(f"first error on {route}: {sample}")
    return {
        "mode": mode,
        "users": args.users,
        "duration_s": args.duration,
        "think_s": args.think,
        "elapsed_s": elapsed,
        "routes": routes,
        "requests": total,
        "rps": total / elapsed,
        "errors": errors,
        "error_rate": errors / max(total, 1),
        "read_p95_ms": read_p95,
        "pass": passed,
        "loadavg": load,
        "cpu_s": cpu,
        "error_samples": stats.samples,
    }


def start_profiler(pid: int, out: Path, duration: float) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(duration)),
            "--rate",
            "50",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def print_profile(path: Path, top: int = 25) -> None:
    """Functions by the share of samples they appear in (inclusive), project code first."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        total += int(count)
        for frame in set(frames.split(";")):
            inclusive[frame] += int(count)
    print(f"\nprofile of the API process: {total} samples at 50 Hz (CPU only)")
    for frame, samples in inclusive.most_common(top):
        print(f"  {100 * samples / total:5.1f}%  {frame}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--api", default=None, help="a running stack (default: start one)")
    p.add_argument(
        "--services",
        action="store_true",
        help="start the stack on DATABASE_URL / REDIS_URL (default: embedded)",
    )
    p.add_argument(
        "--reset",
        action="store_true",
        help="with --services: recreate the database and flush the Redis db first",
    )
    p.add_argument("--users", type=int, default=50)
    p.add_argument(
        "--api-processes",
        type=int,
        default=None,
        help="API processes of the stack it starts (default: devstack's, 2)",
    )
    p.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    p.add_argument("--think", type=float, default=1.0, help="mean think time, seconds")
    p.add_argument("--reviewer-share", type=float, default=0.4)
    p.add_argument(
        "--upload-share",
        type=float,
        default=0.03,
        help="share of actions that upload (clinicians) or review (reviewers)",
    )
    p.add_argument("--seed", type=int, default=60, help="X-rays uploaded before the run")
    p.add_argument("--clinicians", type=int, default=5, help="clinician accounts")
    p.add_argument("--reviewers", type=int, default=3, help="reviewer accounts")
    p.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    p.add_argument("--admin-email", default=DEMO["admin"][0])
    p.add_argument("--admin-password", default=DEMO["admin"][1])
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy collapsed stacks of the API process (own stack only)",
    )
    args = p.parse_args()
    files = sorted(IMAGES.glob("*.png"))
    if len(files) < args.seed + 50:
        raise SystemExit(f"need {args.seed + 50} images in {IMAGES}, found {len(files)}")
    seed_files, upload_files = files[: args.seed], files[args.seed : args.seed + 500]
    services = None
    if args.services:
        services = {
            "DATABASE_URL": os.environ.get("DATABASE_URL") or PG_DEFAULT,
            "REDIS_URL": os.environ.get("REDIS_URL") or REDIS_DEFAULT,
        }
        if args.reset:
            reset_services(services["DATABASE_URL"], services["REDIS_URL"])
    mode = "PostgreSQL + Redis" if services else "embedded" if args.api is None else args.api

    with tempfile.TemporaryDirectory(prefix="medsegtext-load-") as tmp:
        stack = None
        try:
            if args.api is None:
                stack, api = start_stack(
                    Path(tmp), services=services, api_processes=args.api_processes
                )
            else:
                api = args.api.rstrip("/")
            admin = login(api, args.admin_email, args.admin_password)
            emails = create_accounts(api, admin, args.clinicians, args.reviewers)
            seed_s = asyncio.run(
                seed(api, admin, [login(api, e, PASSWORD) for e in emails["clinician"]], seed_files)
            )
            print(f"seeded {args.seed} cases (done) in {seed_s:.1f} s")
            n_rev = round(args.users * args.reviewer_share)
            people = [
                (
                    "reviewer" if i < n_rev else "clinician",
                    emails["reviewer" if i < n_rev else "clinician"][
                        i % (args.reviewers if i < n_rev else args.clinicians)
                    ],
                )
                for i in range(args.users)
            ]
            tokens = asyncio.run(sign_in_all(api, [(e, PASSWORD) for _, e in people]))
            procs = stack_processes(stack.pid) if stack is not None else {}
            profiler = (
                start_profiler(procs["api"], args.profile, args.duration)
                if args.profile and "api" in procs
                else None
            )
            cpu0 = {name: cpu_seconds(pid) for name, pid in procs.items()}
            client0 = time.process_time()
            load = {"start": os.getloadavg()}
            stats, elapsed = asyncio.run(run_users(api, people, tokens, args, upload_files))
            load["end"] = os.getloadavg()
            cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in procs.items()}
            cpu["load client"] = time.process_time() - client0
            if profiler is not None:
                profiler.wait(60)
        finally:
            if stack is not None:
                stop_stack(stack)
    result = report(stats, elapsed, load, cpu, args, mode)
    if args.profile and args.profile.exists():
        print_profile(args.profile)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
