"""One rule for every CSV the product writes (the audit log, dataset exports): a cell that a
spreadsheet would read as a formula is written as text (CSV injection, OWASP)."""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """Text for one cell; a leading formula character is quoted with ' so a spreadsheet shows
    the value instead of running it. None is an empty cell; dates are ISO 8601."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
