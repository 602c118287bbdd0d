"""The error answers each operation documents in the OpenAPI schema.

Every refusal has the one body shape of backend.http.errors ({"detail": ..., ...}), not
Litestar's default {"status_code", "detail", "extra"}, so API clients and the schema-driven
tests (tests/security) read the same contract the server keeps. Which codes an operation can
answer follows from how it is wired (authentication, guards, path parameters, a body, the
stores it uses) plus what its handler lists in ``raises``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

from backend.http.csrf import UNSAFE
from backend.http.input_guard import body_encoding


class ErrorBody(msgspec.Struct):
    """Every 4xx/5xx answer. ``code`` names an upload refusal (InputError), ``errors`` the
    offending fields, ``dependency`` the store that is down."""

    detail: str
    code: str | None = None
    errors: list[dict[str, Any]] | None = None
    dependency: str | None = None


_WHY = {
    400: "Invalid input; `detail` names the field.",
    401: "Not signed in, or the token is invalid, expired or revoked.",
    403: "The caller's role may not do this, or a write authenticated by the session cookie "
         "came from another origin.",
    404: "No such object, or not one the caller may see.",
    409: "The object is not in a state that allows this.",
    413: "The request or the uploaded file is too large.",
    415: "The uploaded file is not a PNG, JPEG or DICOM image, or a JSON body was not sent as "
         "application/json.",
    422: "The uploaded file is damaged or not a usable image.",
    429: "Too many failed sign-ins; see Retry-After.",
    503: "A store (database, Redis or S3) is unavailable; retry after Retry-After.",
}
_STORES = frozenset({"db", "services"})
_NOT_INPUT = frozenset({"data", "state", "request", "scope", "headers", "cookies", "socket"})


def refuses(*codes: int) -> dict[int, ResponseSpec]:
    """Error answers a handler gives beyond those its wiring implies (a 409, an upload's 415)."""
    return {code: _spec(code) for code in codes}


def _spec(code: int) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, generate_examples=False,
                        description=_WHY.get(code, HTTPStatus(code).phrase))


def _error_codes(handler: HTTPRouteHandler, path_params: bool) -> set[int]:
    names = set(handler.parsed_fn_signature.parameters)
    deps = set(handler.resolve_dependencies()) & names
    authenticated = not handler.opt.get("exclude_from_auth")
    codes = {exc.status_code for exc in handler.raises or ()}
    if authenticated:
        codes.add(401)
    if handler.resolve_guards() or (authenticated and handler.http_methods & UNSAFE):
        codes.add(403)  # a role, or a cookie-authenticated write from another origin
    if path_params:
        codes.add(404)
    if authenticated or deps & _STORES:
        codes.add(503)
    if "data" in names:
        codes |= {400, 413}  # a body is validated and its size limited
    if body_encoding(handler) == "application/json":
        codes.add(415)  # a JSON body declared as anything else
    if names - deps - _NOT_INPUT:
        codes.add(400)  # query or path parameters are validated
    return codes


def document_errors(app: Litestar) -> None:
    """Add the error answers to every operation (before the schema is first built)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            documented = dict(handler.responses or {})
            for code in sorted(_error_codes(handler, bool(route.path_parameters))):
                documented.setdefault(code, _spec(code))
            handler.responses = documented
