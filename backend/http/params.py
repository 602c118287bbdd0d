"""Parameter types shared by the controllers, bounded to what the database can store.

An id past the 32-bit integer columns, a paging offset past what SQL's OFFSET takes (2^63 was
a 500 on SQLite and PostgreSQL) or a date-time that leaves the calendar once converted to UTC
would otherwise reach the driver and fail there (a 500, or a CSV stream cut off midway); here
they are a 400 naming the parameter. Every paged list declares its paging with Limit and
Offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar.exceptions import ValidationException
from litestar.params import PathParameter, QueryParameter

ID_MIN, ID_MAX = -(2**31), 2**31 - 1  # integer primary keys (PostgreSQL INTEGER)
PathId = Annotated[int, PathParameter(ge=ID_MIN, le=ID_MAX)]
QueryId = Annotated[int | None, QueryParameter(ge=ID_MIN, le=ID_MAX)]
OFFSET_MAX = 2**31 - 1  # far past any table here; the rows a list skips, never a 500
LIMIT_MAX = 100
Limit = Annotated[int, QueryParameter(ge=1, le=LIMIT_MAX, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=OFFSET_MAX, description="rows to skip")]


def utc(when: datetime | None, name: str, source: str = "query") -> datetime | None:
    """The instant in UTC (no offset means UTC), or a 400 when it has no UTC year 1-9999."""
    if when is None:
        return None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:
        message = f"{name} is out of range once converted to UTC."
        raise ValidationException(message, extra=[{"key": name, "message": message,
                                                   "source": source}]) from None
