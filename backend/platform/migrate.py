"""Run Alembic migrations from code (tests, the dev stack, the migrate task).

migrations/env.py drives an async engine with asyncio.run, which cannot run inside a running
event loop; when called from one, the upgrade runs in a helper thread with its own loop.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logger"] = False  # keep the caller's logging as it is
    return cfg


def _sqlite_parent(database_url: str) -> None:
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        Path(database_url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run(fn: object, *args: object) -> None:
    if not _in_running_loop():
        fn(*args)  # type: ignore[operator]
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=target, name="alembic-migrate")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at database_url to `revision` (default: the latest)."""
    _sqlite_parent(database_url)
    _run(command.upgrade, alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    _run(command.downgrade, alembic_config(database_url), revision)
