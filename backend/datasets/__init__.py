"""Datasets domain: reviewed cases exported in the QaTa training layout.
CONTROLLERS is loaded on first use, so importing the models (worker, Alembic) does not
pull in the web layer."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "CONTROLLERS":
        from backend.datasets.controller import CONTROLLERS

        return CONTROLLERS
    raise AttributeError(name)
