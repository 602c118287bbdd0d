"""Admin answers: audit events and the dashboard statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.admin.models import AuditEvent
from backend.models_registry.agreement import Agreement


@dataclass
class AuditOut:
    id: int
    at: datetime
    user_id: int | None
    role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    client_addr: str | None
    request_id: str | None
    detail: dict[str, Any] | None
    user_email: str | None = None  # None for system events and users that no longer exist

    @classmethod
    def of(cls, e: AuditEvent, user_email: str | None = None) -> AuditOut:
        assert e.id is not None
        return cls(
            e.id,
            e.at,
            e.user_id,
            e.role,
            e.action,
            e.object_type,
            e.object_id,
            e.client_addr,
            e.request_id,
            e.detail,
            user_email,
        )


@dataclass
class AuditActionOut:
    """One action the audit log can be filtered on (GET /api/admin/audit?action=<name>)."""

    name: str
    description: str  # empty for an action the log holds that this version no longer records


@dataclass
class AuditPage:
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


@dataclass
class Turnaround:
    """Upload to done, in seconds, over the most recent done cases."""

    cases: int
    p50_seconds: float | None
    p95_seconds: float | None


@dataclass
class Stats:
    cases_by_status: dict[str, int]
    cases_total: int
    queue_depth: int | None  # None when Redis does not answer
    turnaround: Turnaround
    failure_rate: float | None  # failed / (done + failed)
    reviews_by_state: dict[str, int]
    accepted_unedited_share: float | None  # accepted / reviewed cases
    model_agreement: list[Agreement] = field(default_factory=list)  # per shown version
