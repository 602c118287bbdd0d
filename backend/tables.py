"""Every table, imported once so SQLModel.metadata is complete for Alembic and tests."""

from backend.accounts.models import ApiToken, SignInThrottle, User
from backend.admin.models import AuditEvent
from backend.cases import sides_on_read  # noqa: F401  (old image-side rows read as patient-side)
from backend.cases.models import Case
from backend.identity_map.models import CaseIdentity
from backend.models_registry.models import ModelVersion
from backend.pacs_outbox.models import OutboxItem
from backend.reviews.models import Review

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Case",
    "CaseIdentity",
    "ModelVersion",
    "OutboxItem",
    "Review",
    "SignInThrottle",
    "User",
]
