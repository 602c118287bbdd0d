"""Exception handlers: every refusal is JSON {"detail": <message for a person>, ...}.

Dependency outages become 503 (never a 500 with a stack trace), input the inference core refuses
becomes a 4xx carrying the core's message, the domains' refusals (backend.errors) get their
status here, in one handler, and validation errors name the offending field.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backend.adapters.errors import DependencyUnavailable, ObjectMissing
from backend.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    TooManyRequests,
)
from backend.platform.logs import get_logger
from inference.errors import InputError

log = get_logger("errors")

INPUT_ERROR_STATUS = {
    "empty": 400,
    "too_large": 413,
    "too_many_pixels": 413,
    "unsupported_format": 415,
    "corrupt": 422,
    "multi_frame": 422,
    "no_pixel_data": 422,
    "not_an_image": 422,
}


# The status of each kind of domain refusal; a subclass (e.g. Quarantined) takes its base's.
DOMAIN_ERROR_STATUS: dict[type[DomainError], int] = {
    Invalid: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    TooManyRequests: 429,
    DomainError: 400,  # a refusal of no kind above: the request as sent cannot be done
}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=body, status_code=status, headers=headers, media_type="application/json"
    )


def dependency_unavailable(_: Request, exc: DependencyUnavailable) -> Response:
    log.warning("dependency unavailable", extra={"dependency": exc.dependency, "reason": str(exc)})
    return _json(
        HTTP_503_SERVICE_UNAVAILABLE,
        {
            "detail": f"{exc.dependency} is unavailable; please retry shortly.",
            "dependency": exc.dependency,
        },
        headers={"Retry-After": "5"},
    )


def object_missing(_: Request, exc: ObjectMissing) -> Response:
    log.error("stored object missing", extra={"key": exc.key})
    return _json(HTTP_404_NOT_FOUND, {"detail": "The stored file for this case is missing."})


def database_unavailable(request: Request, exc: Exception) -> Response:
    log.error("database error", exc_info=exc, extra={"path": request.url.path})
    return _json(
        HTTP_503_SERVICE_UNAVAILABLE,
        {"detail": "database is unavailable; please retry shortly.", "dependency": "database"},
        headers={"Retry-After": "5"},
    )


def input_error(_: Request, exc: InputError) -> Response:
    return _json(INPUT_ERROR_STATUS.get(exc.code, 422), {"detail": exc.message, "code": exc.code})


def _field_message(extra: Any) -> str | None:
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first = extra[0]
        key, msg = first.get("key"), first.get("message")
        if msg:
            return f"Invalid {key}: {msg}" if key else str(msg)
    return None


def _refusal(
    status: int,
    detail: str,
    extra: Any,
    headers: dict[str, str] | None = None,
    *,
    field_detail: bool = True,
) -> Response:
    """The body of a refusal: the detail, the fields a dict adds, or the list of field errors
    (then, with field_detail, the first one's message is the detail when it has one)."""
    if field_detail:
        detail = _field_message(extra) or detail
    body: dict[str, Any] = {"detail": detail}
    if isinstance(extra, dict):
        body.update(extra)
    elif extra:
        body["errors"] = extra
    return _json(status, body, headers=headers)


def validation_error(_: Request, exc: ValidationException) -> Response:
    detail = _field_message(exc.extra) or exc.detail
    body: dict[str, Any] = {"detail": detail}
    if exc.extra:
        body["errors"] = exc.extra
    return _json(400, body)


def http_error(_: Request, exc: HTTPException) -> Response:
    return _refusal(exc.status_code, exc.detail, exc.extra, exc.headers, field_detail=False)


def domain_error(_: Request, exc: DomainError) -> Response:
    status = next(DOMAIN_ERROR_STATUS[k] for k in type(exc).__mro__ if k in DOMAIN_ERROR_STATUS)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyRequests) else None
    return _refusal(status, exc.detail, exc.extra, headers)


def unexpected_error(request: Request, exc: Exception) -> Response:
    log.error(
        "unhandled error", exc_info=exc, extra={"path": request.url.path, "method": request.method}
    )
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, {"detail": "Internal server error."})


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DependencyUnavailable: dependency_unavailable,
    ObjectMissing: object_missing,
    OperationalError: database_unavailable,
    InterfaceError: database_unavailable,
    PoolTimeout: database_unavailable,
    # asyncpg raises a command timeout or a failed pre-ping as a bare TimeoutError, and a cut
    # connection can surface as a bare ConnectionError; every other adapter wraps its own.
    TimeoutError: database_unavailable,
    ConnectionError: database_unavailable,
    InputError: input_error,
    ValidationException: validation_error,
    DomainError: domain_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
