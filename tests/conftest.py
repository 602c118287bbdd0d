"""Shared pytest fixtures.

The real images live beside the repository (``../shared/data``), not in it: tests that need them
skip with the path they looked for when it is absent, and fail in CI (tests/shared_data.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared_data import SHARED_DATA, require


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (``<repo>/../shared/data``); skips the test when it is absent."""
    require(SHARED_DATA, what="the shared test data")
    return SHARED_DATA
