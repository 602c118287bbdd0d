"""Date ranges typed into admin forms."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_date(value: str, end: bool = False) -> str | None:
    """A yyyy-mm-dd (or full ISO) date from a form as an ISO UTC time; None if empty.
    Raises ValueError if it is not a date."""
    value = value.strip()
    if not value:
        return None
    when = datetime.fromisoformat(value)
    if len(value) == 10 and end:  # a whole day: up to its end
        when = when.replace(hour=23, minute=59, second=59)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def inverted_range(since: str, until: str, labels: tuple[str, str] = ("Since", "Until")) -> str:
    """The message for a range that ends before it starts, else "" (dates as the form has
    them, YYYY-MM-DD; raises ValueError for one that is not a date). `labels` are the form's
    names for the two fields."""
    start, end = iso_date(since), iso_date(until, end=True)
    if start and end and datetime.fromisoformat(start) > datetime.fromisoformat(end):
        return (
            f"The date range ends before it starts: “{labels[0]}” ({since.strip()}) is "
            f"after “{labels[1]}” ({until.strip()}). Swap the dates or clear one."
        )
    return ""
