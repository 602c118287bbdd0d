"""Model versions domain: registry, activation, shadow mode, agreement.
CONTROLLERS is loaded on first use, so importing the models (worker, Alembic) does not
pull in the web layer."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "CONTROLLERS":
        from backend.models_registry.controller import CONTROLLERS

        return CONTROLLERS
    raise AttributeError(name)
