"""Role guards: run after authentication, so a missing user is 401 and a wrong role 403. Each
guard knows its roles, so the OpenAPI description of an operation says who may call it from
the same object that enforces it (backend.http.openapi)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backend.accounts.enums import Permission, Role, holders, role_names
from backend.accounts.principal import Principal


class RoleGuard:
    """Admits a signed-in user holding one of ``roles``."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)
        self.names = role_names(self.roles)

    def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, Principal):
            raise NotAuthorizedException("Authentication required.")
        if user.role not in self.roles:
            raise PermissionDeniedException(f"This action requires the {self.names} role.")


# from the roles' permissions (backend.accounts.enums), which GET /api/me lists to the portal
CLINICAL_UPLOAD = RoleGuard(*holders(Permission.UPLOAD_CASES))
REVIEWERS = RoleGuard(*holders(Permission.REVIEW_CASES))
ADMINS = RoleGuard(*holders(Permission.ADMINISTER))
