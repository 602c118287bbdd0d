"""The load test's setup, which is not measured: a clean PostgreSQL database and Redis db,
accounts, seeded cases finished by the worker, and every simulated user signed in."""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.stack import wait_finished

PASSWORD = "load-test-password-1"


def reset_services(database_url: str, redis_url: str) -> None:
    """Drop and recreate the bench's PostgreSQL database and flush its Redis db."""
    import redis
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if not url.drivername.startswith("postgresql") or shutil.which("psql") is None:
        raise SystemExit("--reset needs a PostgreSQL DATABASE_URL and psql")
    db = url.database
    psql = [
        "psql",
        "-q",
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        "-d",
        "postgres",
        "-c",
    ]
    subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], check=True)
    subprocess.run([*psql, f'CREATE DATABASE "{db}"'], check=True)
    with redis.Redis.from_url(redis_url) as r:
        r.flushdb()


def create_accounts(
    api: str, admin_token: str, clinicians: int, reviewers: int
) -> dict[str, list[str]]:
    """load-<role>-<i>@example.org accounts (kept if they exist); emails by role."""
    out: dict[str, list[str]] = {"clinician": [], "reviewer": []}
    headers = {"Authorization": f"Bearer {admin_token}"}
    for role, n in (("clinician", clinicians), ("reviewer", reviewers)):
        for i in range(n):
            email = f"load-{role}-{i}@example.org"
            r = httpx.post(
                f"{api}/api/admin/users",
                headers=headers,
                timeout=30,
                json={
                    "email": email,
                    "password": PASSWORD,
                    "role": role,
                    "full_name": f"Load {role.title()} {i}",
                },
            )
            if r.status_code not in (200, 201, 409):
                raise SystemExit(f"creating {email}: {r.status_code} {r.text}")
            out[role].append(email)
    return out


async def seed(
    api: str, admin_token: str, clinician_tokens: list[str], images: list[Path]
) -> float:
    """Upload the images round-robin as the clinicians; wait until all are done. Seconds."""
    t0 = time.monotonic()
    since = datetime.fromtimestamp(time.time() - 1, UTC).isoformat()
    gate = asyncio.Semaphore(4)
    clients = [
        httpx.AsyncClient(base_url=api, timeout=60, headers={"Authorization": f"Bearer {t}"})
        for t in clinician_tokens
    ]
    rng = random.Random(7)

    async def one(i: int, path: Path) -> None:
        async with gate:
            priority = rng.choice(("routine", "routine", "urgent", "stat"))
            r = await clients[i % len(clients)].post(
                "/api/cases",
                files={"file": (path.name, path.read_bytes(), "image/png")},
                data={
                    "patient_ref": f"P-{i:04d}",
                    "priority": priority,
                    **(
                        {"priority_reason": "load test: simulated emergency"}
                        if priority == "stat"
                        else {}
                    ),
                },
            )
            r.raise_for_status()

    try:
        await asyncio.gather(*(one(i, p) for i, p in enumerate(images)))
        async with httpx.AsyncClient(
            base_url=api, timeout=30, headers={"Authorization": f"Bearer {admin_token}"}
        ) as admin:
            await wait_finished(admin, since, len(images))
        return time.monotonic() - t0
    finally:
        for c in clients:
            await c.aclose()


async def sign_in_all(api: str, people: list[tuple[str, str]]) -> list[str]:
    """One session token per simulated user (argon2 is slow on purpose: 4 at a time)."""
    gate = asyncio.Semaphore(4)

    async def one(client: httpx.AsyncClient, email: str, password: str) -> str:
        async with gate:
            r = await client.post("/api/auth/login", json={"email": email, "password": password})
            r.raise_for_status()
            return str(r.json()["token"])

    async with httpx.AsyncClient(base_url=api, timeout=60) as client:
        return list(await asyncio.gather(*(one(client, e, p) for e, p in people)))
