"""Issue 12: the portal's temporary dataset-export files do not stay in the temp folder.

Runs portal/media.py in the portal's own environment (frontend/.venv: Reflex cannot share the
API's venv) on real files in a temporary folder: a file goes when its link expires, when its
session signs out, and a start removes what an earlier (dead) portal left behind, but not the
files of a portal that is still running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTAL_PYTHON = ROOT / "frontend" / ".venv" / "bin" / "python"

SCRIPT = r"""
import json, os, sys, time
from pathlib import Path
from portal import media

folder = Path(sys.argv[1])
live_pid, dead_pid = int(sys.argv[2]), int(sys.argv[3])
out = {}

fd, expiring = media.export_file()
os.close(fd)
media.issue_file("token-a", expiring, "application/zip", "a.zip")
out["made_in_tmp"] = Path(expiring).parent == folder
media.prune(time.monotonic() + media.LINK_TTL + 1)
out["expired_removed"] = not os.path.exists(expiring)

fd, signed_out = media.export_file()
os.close(fd)
media.issue_file("token-b", signed_out, "application/zip", "b.zip")
media.revoke_token("token-b")
out["sign_out_removed"] = not os.path.exists(signed_out)

dead = folder / f"medsegtext-export-{dead_pid}-old.zip"
legacy = folder / "medsegtext-export-k2j4h5.zip"
alive = folder / f"medsegtext-export-{live_pid}-busy.zip"
other = folder / "unrelated.zip"
for p in (dead, legacy, alive, other):
    p.write_bytes(b"PK")
media.sweep_leftovers(str(folder))
out["dead_removed"] = not dead.exists()
out["legacy_removed"] = not legacy.exists()
out["live_kept"] = alive.exists()
out["other_kept"] = other.exists()
print(json.dumps(out))
"""


def test_export_files_go_on_expiry_sign_out_and_start(tmp_path: Path) -> None:
    if not PORTAL_PYTHON.exists():
        pytest.skip(f"{PORTAL_PYTHON} is missing: run frontend/run.sh --setup-only")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT / "frontend")}
    done = subprocess.run(
        [str(PORTAL_PYTHON), "-c", SCRIPT, str(tmp_path), str(os.getpid()), str(dead.pid)],
        cwd=ROOT / "frontend",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(result)
    assert result == {
        "made_in_tmp": True,
        "expired_removed": True,
        "sign_out_removed": True,
        "dead_removed": True,
        "legacy_removed": True,
        "live_kept": True,
        "other_kept": True,
    }
