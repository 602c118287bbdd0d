"""What the OpenAPI schema says about each operation: its summary and description, who may
call it, and the error answers it can give.

Summary and description come from the handler's docstring, PEP 257 style: the first line is the
summary, the paragraphs after the blank line the description (what it does, object-level rules,
the notable refusals). Who may call it is added from the guards that enforce it, so the text
cannot drift from the rule. Litestar would otherwise publish the handler's name as the summary
and no description at all.

Every refusal has the one body shape of backend.http.errors ({"detail": ..., ...}), not
Litestar's default {"status_code", "detail", "extra"}, so API clients and the schema-driven
tests (tests/security) read the same contract the server keeps. Which codes an operation can
answer follows from how it is wired (authentication, guards, path parameters, a body, the
stores it uses) plus what its handler lists in ``raises``.
"""

from __future__ import annotations

import inspect
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

from backend.accounts.enums import Role
from backend.http.csrf import UNSAFE
from backend.http.guards import RoleGuard
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
    410: "The case is gone: withdrawn to quarantine (burned-in patient details), or a stored "
    "file it needs is missing from the object store; `detail` says which and what to do.",
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
    return ResponseSpec(
        data_container=ErrorBody,
        generate_examples=False,
        description=_WHY.get(code, HTTPStatus(code).phrase),
    )


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


def admitted_roles(handler: HTTPRouteHandler) -> frozenset[Role] | None:
    """The roles the handler's role guards (on it or its controller) admit; None: no role
    guard, any signed-in user."""
    roles: frozenset[Role] | None = None
    for layer in handler.ownership_layers:
        for guard in layer.guards or ():
            if isinstance(guard, RoleGuard):
                roles = guard.roles if roles is None else roles & guard.roles
    return roles


def who_may_call(handler: HTTPRouteHandler) -> str:
    if handler.opt.get("exclude_from_auth"):
        return "Anyone; no sign-in needed."
    roles = admitted_roles(handler)
    if roles is None:
        return "Any signed-in user (clinician, reviewer or admin)."
    names = " or ".join(r.value for r in Role if r in roles)
    return f"Signed-in users with the {names} role; any other role gets 403."


def docstring_parts(handler: HTTPRouteHandler) -> tuple[str, str]:
    """(summary, description) from the handler's docstring: the first line without its final
    period, and the paragraphs after the blank line, each on one line."""
    first, *rest = re.split(r"\n\s*\n", inspect.cleandoc(handler.fn.__doc__ or ""))
    return " ".join(first.split()).rstrip("."), "\n\n".join(" ".join(p.split()) for p in rest)


def _describe(handler: HTTPRouteHandler) -> None:
    summary, body = docstring_parts(handler)
    if handler.summary is None and summary:
        handler.summary = summary
    if handler.description is None:
        who = f"**Who may call:** {who_may_call(handler)}"
        handler.description = f"{body}\n\n{who}" if body else who


def document_operations(app: Litestar) -> None:
    """Describe every operation and add its error answers (before the schema is first
    built)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            _describe(handler)
            documented = dict(handler.responses or {})
            for code in sorted(_error_codes(handler, bool(route.path_parameters))):
                documented.setdefault(code, _spec(code))
            handler.responses = documented
