"""The portal's pages and states as Reflex builds them: every route of the table has its page,
loaded by its state behind the route's permission, and the confirmation step (ConfirmMixin)
asks before it changes anything. Reflex lives only in frontend/.venv, so portal_probe.py runs
there and reports what it found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "frontend"))

from portal.routes import ROUTES

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
PORTAL_PYTHON = FRONTEND / ".venv" / "bin" / "python"


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    if not PORTAL_PYTHON.exists():
        pytest.skip(f"{PORTAL_PYTHON} is missing: run frontend/run.sh --setup-only")
    out = subprocess.run(
        [str(PORTAL_PYTHON), str(Path(__file__).parent / "portal_probe.py")],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def test_every_route_has_its_page_behind_its_permission(probe: dict[str, Any]) -> None:
    pages = {p["path"]: p for p in probe["pages"]}
    assert sorted(pages) == sorted(r.path for r in ROUTES)
    assert len(probe["registered"]) == len(ROUTES)
    for route in ROUTES:
        page = pages[route.path]
        assert page["title"] == route.tab_title
        if route.public:
            assert (page["on_load"], page["guard"]) == ("open_login", None)
        else:  # the load is refused (a redirect) to a tab without the route's permission
            assert (page["on_load"], page["guard"]) == ("load", route.permission)


def test_the_confirmation_step_holds_the_change_until_confirmed(probe: dict[str, Any]) -> None:
    asked, cancelled, unknown = probe["confirm"]
    assert asked == {
        "step": "ask",
        "open": True,
        "title": "Activate segfind 2.0.0?",
        "label": "Activate",
        "pending": {"model_id": 1, "action": "activate"},
    }
    assert (cancelled["open"], cancelled["pending"]) == (False, {})  # Cancel or Escape
    assert (unknown["open"], unknown["pending"]) == (False, {})  # nothing to ask about
