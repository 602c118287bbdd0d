"""The product's version, defined once: ``version`` in pyproject.toml's [project] table.

Read from the installed distribution's metadata (``pip install -e .`` in development and CI);
the images copy the project instead of installing it, so there it is read from the
pyproject.toml copied beside the code. Standard library only: the CLI's ``--version`` uses it."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DISTRIBUTION = "medsegtext"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def pyproject_version(pyproject: Path = PYPROJECT) -> str:
    return str(tomllib.loads(pyproject.read_text())["project"]["version"])


@cache
def app_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return pyproject_version()
