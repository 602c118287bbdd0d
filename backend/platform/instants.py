"""Instants as the database stores them: aware, in UTC, inside the calendar.

A date-time that leaves the calendar once converted to UTC would reach the driver and fail
there (a 500, or a CSV stream cut off midway); here it is a refusal naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime

from backend.errors import Invalid


def utc(when: datetime | None, name: str, source: str = "query") -> datetime | None:
    """The instant in UTC (no offset means UTC), or a 400 when it has no UTC year 1-9999."""
    if when is None:
        return None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:
        raise Invalid.field(
            source, f"{name} is out of range once converted to UTC.", name
        ) from None
