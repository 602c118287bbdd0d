"""Role guards: run after authentication, so a missing user is 401 and a wrong role 403."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from backend.http.auth import Principal


def requires_role(*roles: str) -> Guard:
    allowed = frozenset(roles)
    names = " or ".join(sorted(allowed))

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, Principal):
            raise NotAuthorizedException("Authentication required.")
        if user.role not in allowed:
            raise PermissionDeniedException(f"This action requires the {names} role.")

    return guard


CLINICAL_UPLOAD = requires_role("clinician", "admin")
REVIEWERS = requires_role("reviewer", "admin")
ADMINS = requires_role("admin")
