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


# who sees every case (a clinician sees only their own)
SEES_ALL_CASES = frozenset({Role.REVIEWER, Role.ADMIN})
