"""Parameter types shared by the controllers, bounded to what the database can store.

An id past the 32-bit integer columns, a paging offset past what SQL's OFFSET takes (2^63 was
a 500 on SQLite and PostgreSQL) or a date-time that leaves the calendar once converted to UTC
would otherwise reach the driver and fail there (a 500, or a CSV stream cut off midway); here
they are a 400 naming the parameter (date-times: backend.platform.instants.utc). Every paged
list declares its paging with Limit and Offset.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

ID_MIN, ID_MAX = -(2**31), 2**31 - 1  # integer primary keys (PostgreSQL INTEGER)
PathId = Annotated[int, PathParameter(ge=ID_MIN, le=ID_MAX)]
QueryId = Annotated[int | None, QueryParameter(ge=ID_MIN, le=ID_MAX)]
OFFSET_MAX = 2**31 - 1  # far past any table here; the rows a list skips, never a 500
LIMIT_MAX = 100
Limit = Annotated[int, QueryParameter(ge=1, le=LIMIT_MAX, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=OFFSET_MAX, description="rows to skip")]
