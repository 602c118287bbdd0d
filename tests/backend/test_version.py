"""One version number, pyproject.toml's: the API's /api/health and OpenAPI document, the CLI and
the newest release in CHANGELOG.md all say the same."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from backend.platform.version import app_version, pyproject_version
from tests.backend.backend_testkit import Stack

ROOT = Path(__file__).resolve().parents[2]


async def test_the_api_reports_pyprojects_version(stack: Stack) -> None:
    expected = pyproject_version()
    assert (await stack.client.get("/api/health")).json() == {"status": "ok", "version": expected}
    schema = (await stack.client.get("/api/schema/openapi.json")).json()
    assert schema["info"]["version"] == expected


def test_the_installed_metadata_and_the_cli_say_the_same() -> None:
    assert app_version() == pyproject_version()
    out = subprocess.run(
        [sys.executable, "-m", "medsegtext.cli", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["medsegtext", pyproject_version()]


def test_the_changelogs_newest_release_is_this_version() -> None:
    releases = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases[0] == "Unreleased" and releases[1] == pyproject_version()
