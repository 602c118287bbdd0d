"""The data sets tests read from ``../shared/data`` (beside the repository, not in it).

A test whose data is missing skips, naming what it looked for, on a developer's machine; in CI
(the ``CI`` variable set, as .ci/run's environment has it) it fails instead, since there a
missing data set is a broken setup and a green run would hide every test that needs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(*paths: Path, what: str) -> None:
    """Skip the test (fail it in CI) unless every path exists; ``what`` names the data set."""
    missing = [str(p) for p in paths if not p.exists()]
    if not missing:
        return
    reason = f"{what} not found: {', '.join(missing)}"
    if in_ci():
        pytest.fail(f"{reason} (CI needs ../shared/data beside the repository)", pytrace=False)
    pytest.skip(reason)
