"""The roles a user can hold: the one definition the models, guards, services and API schemas
share (stored as these strings in SQL). Imports nothing but the standard library, so any layer,
the worker and the CLI included, may use it."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user may do; the API enforces it on every route and object."""

    CLINICIAN = "clinician"  # uploads, sees and downloads their own cases
    REVIEWER = "reviewer"  # sees and reviews every case
    ADMIN = "admin"  # all of the above, plus users, models, audit and the dataset export


class Permission(StrEnum):
    """What a role allows, by name: GET /api/me lists the caller's, so a client (the portal)
    reads what it may offer instead of re-encoding which role may do what."""

    UPLOAD_CASES = "upload_cases"  # POST /api/cases, the DICOM node's sender accounts
    REVIEW_CASES = "review_cases"  # review, scope override
    SEE_ALL_CASES = "see_all_cases"  # every case, not only one's own
    ADMINISTER = "administer"  # users, models, audit, dashboard, dataset export, PACS outbox


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLINICIAN: frozenset({Permission.UPLOAD_CASES}),
    Role.REVIEWER: frozenset({Permission.REVIEW_CASES, Permission.SEE_ALL_CASES}),
    Role.ADMIN: frozenset(Permission),
}


def holders(permission: Permission) -> frozenset[Role]:
    """The roles that grant `permission`."""
    return frozenset(r for r, granted in ROLE_PERMISSIONS.items() if permission in granted)


def permissions_of(role: Role) -> list[Permission]:
    """The permissions of `role`, in Permission order (as GET /api/me lists them)."""
    return [p for p in Permission if p in ROLE_PERMISSIONS[role]]


# who sees every case (a clinician sees only their own)
SEES_ALL_CASES = holders(Permission.SEE_ALL_CASES)


def role_names(roles: frozenset[Role]) -> str:
    """The roles in Role order ("clinician or admin"), for refusals that say who may."""
    return " or ".join(r.value for r in Role if r in roles)
