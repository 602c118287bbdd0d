"""`field(factory)`: a state var's mutable default, made fresh for every tab (Reflex's
`rx.field(default_factory=...)`), typed as the value the var holds.

Reflex 0.10 types `rx.field(...)` as `Field[T]`, which mypy will not accept for a var declared
`rows: list[Row]`; the object Reflex gets is the same either way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import reflex as rx

T = TypeVar("T")


def field(factory: Callable[[], T]) -> T:
    return cast(T, rx.field(default_factory=factory))
