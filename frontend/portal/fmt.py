"""Display formatting for values that come from the API (pure functions, no Reflex)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# The API's zone keys name the patient's side; the patient's right first, as it lies on the
# image's left of a standard film.
ZONE_KEYS = (
    "patient_right_upper",
    "patient_right_middle",
    "patient_right_lower",
    "patient_left_upper",
    "patient_left_middle",
    "patient_left_lower",
)
ACTIVE_STATUSES = ("queued", "running")


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def when(value: Any) -> str:
    """'2026-11-27 10:31 UTC', or '' for none."""
    t = parse_time(value)
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if t else ""


def ago(value: Any, now: datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 d ago'."""
    t = parse_time(value)
    if t is None:
        return ""
    seconds = max(0.0, ((now or datetime.now(UTC)) - t).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def percent(value: Any, digits: int = 1) -> str:
    """A 0-100 number as '12.3 %', or '—'."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.{digits}f} %"


def fraction(value: Any) -> str:
    """A 0-1 share as '12 %', or '—'."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value * 100:.0f} %"


def seconds(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def text(value: Any) -> str:
    return "" if value is None else str(value)


def zone_label(key: str) -> str:
    """'patient_right_upper' -> "Patient's right upper zone"."""
    _, side, level = key.split("_")
    return f"Patient's {side} {level} zone"


def laterality(value: Any) -> str:
    """The API's laterality names the patient's side; say so where it is one side."""
    text_ = "" if value is None else str(value)
    return f"{text_.capitalize()} (patient's {text_})" if text_ in ("right", "left") else text_


def zone_flags(value: Any) -> dict[str, bool] | None:
    """The six flags of an API zone_flags object, or None when it is not one."""
    if not isinstance(value, dict):
        return None
    return {key: bool(value.get(key, False)) for key in ZONE_KEYS}


def flagged_zones(flags: dict[str, bool] | None) -> str:
    """ "right lower, left middle" (the patient's), 'no zone flagged', or '' for none."""
    if flags is None:
        return ""
    names = [k.removeprefix("patient_").replace("_", " ") for k in ZONE_KEYS if flags.get(k)]
    return ", ".join(names) if names else "no zone flagged"


def summary(findings: Any, status: str, error: Any, scope_reason: Any = None) -> str:
    if status == "out_of_scope":
        return f"Not analysed: {scope_reason}" if scope_reason else "Not analysed: out of scope"
    if status == "failed":
        return f"Failed: {error}" if error else "Failed"
    if status in ACTIVE_STATUSES:
        return "Analysing…" if status == "running" else "Waiting for analysis"
    return str(findings) if findings else "—"


def page_range(offset: int, total: int, page_size: int, none: str) -> str:
    """'Showing 21–40 of 95' for a paged table; `none` when it is empty."""
    if total == 0:
        return none
    return f"Showing {offset + 1}–{min(offset + page_size, total)} of {total}"
