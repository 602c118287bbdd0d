"""Write reflex.lock/package.json from reflex.lock/bun.lock (``python reflex_lock.py``; run.sh does
it before Reflex starts).

Reflex keeps the portal's JavaScript pins in reflex.lock/: bun.lock, tracked, and package.json,
which Reflex rewrites on every run and so is not tracked. Its install is frozen to bun.lock and
fails unless package.json declares exactly what bun.lock's root workspace declares, so the file
is derived here from bun.lock, the one source of the pins. Standard library only: it runs
before the portal's venv exists.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

LOCK_DIR = Path(__file__).resolve().parent / "reflex.lock"
#: bun.lock is JSON with trailing commas before a closing brace or bracket.
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def package_json(bun_lock: str) -> dict[str, Any]:
    """The package.json that bun.lock's root workspace was resolved from."""
    lock = json.loads(_TRAILING_COMMA.sub(r"\1", bun_lock))
    root = lock["workspaces"][""]
    return {
        "name": root.get("name", "reflex"),
        "type": "module",
        "dependencies": root.get("dependencies", {}),
        "devDependencies": root.get("devDependencies", {}),
        "overrides": lock.get("overrides", {}),
    }


def write_package_json(lock_dir: Path = LOCK_DIR) -> bool:
    """Make lock_dir/package.json agree with lock_dir/bun.lock; True when it was (re)written.
    Keys Reflex adds (its scripts) are kept; a file that already agrees is left untouched."""
    wanted = package_json((lock_dir / "bun.lock").read_text())
    target = lock_dir / "package.json"
    try:
        current = json.loads(target.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        current = {}
    if isinstance(current, dict) and all(current.get(k) == v for k, v in wanted.items()):
        return False
    kept = current if isinstance(current, dict) else {}
    target.write_text(json.dumps({**kept, **wanted}, indent=2) + "\n")
    return True


if __name__ == "__main__":
    lock_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else LOCK_DIR
    if write_package_json(lock_dir):
        print(f"[portal] wrote {lock_dir / 'package.json'} from bun.lock", file=sys.stderr)
