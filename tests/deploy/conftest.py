"""Fixtures for the deployment tests: everything here runs offline (no Docker engine, no AWS)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # deploy/ is a top-level package of the repository, not installed
    sys.path.insert(0, str(ROOT))

from deploy import config as config_mod  # noqa: E402
from deploy.plan import Step  # noqa: E402

EXAMPLE = ROOT / "deploy" / "ecs" / "config.example.yaml"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cfg() -> config_mod.Config:
    return config_mod.load(EXAMPLE)


@pytest.fixture(scope="session")
def create_plan(cfg: config_mod.Config) -> list[Step]:
    from deploy.ecs import build_plan

    return build_plan(cfg, "create")


@pytest.fixture(scope="session")
def example_data() -> dict:
    import yaml

    return yaml.safe_load(EXAMPLE.read_text())
