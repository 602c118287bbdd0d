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

This module runs it; the simulated users are in bench/load_users.py, the report in
bench/load_report.py, the profiler in bench/api_profile.py and the setup in bench/load_setup.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api_profile import print_profile, start_profiler
from bench.load_report import report
from bench.load_setup import PASSWORD, create_accounts, reset_services, seed, sign_in_all
from bench.load_users import run_users
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
