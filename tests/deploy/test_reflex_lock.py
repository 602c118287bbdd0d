"""The portal's JavaScript pins: bun.lock is tracked, package.json is not (Reflex rewrites it on
every run) and is derived from bun.lock by frontend/reflex_lock.py, which run.sh runs before
Reflex's frozen install."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from frontend.reflex_lock import LOCK_DIR, package_json, write_package_json

ROOT = Path(__file__).resolve().parents[2]


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_only_bun_lock_is_tracked_and_package_json_is_ignored() -> None:
    assert git("ls-files", "frontend/reflex.lock").split() == ["frontend/reflex.lock/bun.lock"]
    assert (
        git("check-ignore", "frontend/reflex.lock/package.json").strip()
        == "frontend/reflex.lock/package.json"
    )


def test_a_clean_clone_gets_the_package_json_bun_lock_was_resolved_from(tmp_path: Path) -> None:
    lock_dir = tmp_path / "reflex.lock"
    lock_dir.mkdir()
    shutil.copy(LOCK_DIR / "bun.lock", lock_dir / "bun.lock")
    subprocess.run(
        [sys.executable, str(ROOT / "frontend" / "reflex_lock.py"), str(lock_dir)],
        check=True,
        capture_output=True,
    )
    written = json.loads((lock_dir / "package.json").read_text())
    lock = (lock_dir / "bun.lock").read_text()
    assert written["dependencies"]["react"] and written["devDependencies"]["vite"]
    for name, version in {**written["dependencies"], **written["devDependencies"]}.items():
        assert f'"{name}": ["{name}@' in lock, f"{name} {version} is not resolved in bun.lock"
    # Reflex's own scripts survive; a file that agrees is not rewritten
    (lock_dir / "package.json").write_text(json.dumps({**written, "scripts": {"dev": "x"}}))
    before = (lock_dir / "package.json").read_text()
    assert write_package_json(lock_dir) is False
    assert (lock_dir / "package.json").read_text() == before


def test_a_stale_package_json_follows_bun_lock(tmp_path: Path) -> None:
    lock_dir = tmp_path / "reflex.lock"
    lock_dir.mkdir()
    shutil.copy(LOCK_DIR / "bun.lock", lock_dir / "bun.lock")
    stale = {**package_json((LOCK_DIR / "bun.lock").read_text()), "scripts": {"dev": "x"}}
    stale["dependencies"] = {**stale["dependencies"], "react": "0.0.1"}
    (lock_dir / "package.json").write_text(json.dumps(stale))
    assert write_package_json(lock_dir) is True
    fixed = json.loads((lock_dir / "package.json").read_text())
    assert fixed["dependencies"]["react"] != "0.0.1" and fixed["scripts"] == {"dev": "x"}
