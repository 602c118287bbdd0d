"""A download the portal's own API client refuses is answered as a refusal, not a 500.

portal/media.py streams report and audit downloads through portal/api.py's client, whose request
hook raises api.ApiError (401) for a call to the API without a token. `_stream` caught only
httpx errors, so that refusal escaped as an unhandled exception (a 500 with a traceback in the
log). Runs media.py in the portal's own environment (frontend/.venv: Reflex and Starlette are
not in the API's venv); nothing is listening on the API address, and nothing needs to: the
refusal happens before any connection.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTAL_PYTHON = ROOT / "frontend" / ".venv" / "bin" / "python"

SCRIPT = r"""
import asyncio, json, time
from portal import api, media

async def main():
    out = {}
    for kind, path, params, default_type, name in (
            ("report.pdf", "/api/cases/c1/report.pdf", {}, "application/pdf", "r.pdf"),
            (media.AUDIT_CSV, "/api/admin/audit.csv", {"action": "auth.login"}, "text/csv",
             "audit.csv")):
        ticket = media.Ticket("", "c1", kind, time.monotonic() + 60)  # no token
        try:
            response = await media._stream(ticket, path, params, default_type, name)
        except Exception as e:  # what Starlette turns into a 500
            out[kind] = {"raised": type(e).__name__}
            continue
        out[kind] = {"status": response.status_code, "body": response.body.decode(),
                     "cache": response.headers.get("cache-control")}
    await api.client().aclose()
    print(json.dumps(out))

asyncio.run(main())
"""


def test_a_refused_token_less_download_is_a_401_not_a_500() -> None:
    if not PORTAL_PYTHON.exists():
        pytest.skip(f"{PORTAL_PYTHON} is missing: run frontend/run.sh --setup-only")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "frontend"),
        "MEDSEGTEXT_API_URL": "http://127.0.0.1:9",
    }  # discard port: never reached
    done = subprocess.run(
        [str(PORTAL_PYTHON), "-c", SCRIPT],
        cwd=ROOT / "frontend",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(result)
    for kind in ("report.pdf", "audit.csv"):
        assert result[kind] == {"status": 401, "body": "Please sign in.", "cache": "no-store"}
