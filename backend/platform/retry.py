"""Which failures are worth retrying, and how long to wait before the next try.

A dependency that is down (S3, DynamoDB, the database, Redis, a SageMaker endpoint) may come back,
so the job retries with exponential backoff; a bad image will not get better, so it fails at once.
"""

from __future__ import annotations

from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backend.adapters.errors import DependencyUnavailable

#: Retried with backoff; OSError covers refused connections and TimeoutError.
DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    DependencyUnavailable,
    OSError,
    OperationalError,
    InterfaceError,
    PoolTimeout,
    RedisError,
)

DEFAULT_BASE_S = 1.0
DEFAULT_CAP_S = 30.0


def backoff_seconds(
    job_try: int, base_s: float = DEFAULT_BASE_S, cap_s: float = DEFAULT_CAP_S
) -> float:
    """1, 2, 4, 8 … × base after tries 1, 2, 3, 4 …, never more than cap."""
    return float(min(cap_s, base_s * 2 ** max(0, job_try - 1)))


def describe(error: BaseException) -> tuple[str, str]:
    """(dependency, detail) for the reason a case shows when it finally fails."""
    if isinstance(error, DependencyUnavailable):
        return error.dependency, str(error).removeprefix(f"{error.dependency} unavailable: ")
    if isinstance(error, OperationalError | InterfaceError):
        return "database", str(error.orig or error)
    if isinstance(error, PoolTimeout):
        return "database", str(error)
    if isinstance(error, RedisError):
        return "redis", str(error)
    return "a dependency", str(error) or type(error).__name__
