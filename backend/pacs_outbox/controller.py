"""/api/admin/outbox: what waits for the PACS, what was sent and what cannot be (admins). The
rows hold no patient identifiers: UIDs of our own objects, states and errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from backend.http.deps import Db
from backend.http.guards import ADMINS
from backend.http.params import Limit, Offset
from backend.pacs_outbox import repository as repo
from backend.pacs_outbox.models import OutboxItem, OutboxStatus


@dataclass
class OutboxOut:
    id: int
    case_id: str
    review_id: int | None  # None: preliminary (the model's result before review)
    destination: str
    kind: str
    version: int
    sop_instance_uid: str
    replaces_uid: str | None
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, i: OutboxItem) -> OutboxOut:
        assert i.id is not None
        return cls(
            i.id,
            i.case_id,
            i.review_id,
            i.destination,
            i.kind,
            i.version,
            i.sop_instance_uid,
            i.replaces_uid,
            OutboxStatus(i.status),
            i.attempts,
            i.next_attempt_at,
            i.last_error,
            i.created_at,
            i.sent_at,
        )


CaseId = Annotated[str | None, QueryParameter(max_length=32, description="One case's rows.")]


class OutboxController(Controller):
    path = "/api/admin/outbox"
    tags = ("admin",)
    guards = (ADMINS,)

    @get("")
    async def outbox(
        self,
        db: Db,
        status: FromQuery[OutboxStatus | None] = None,
        case_id: CaseId = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[OutboxOut]:
        """List the PACS outbox.

        The objects queued for the PACS, newest first: kind (seg, sr, sc), version, the
        review they carry, status (pending, sent, failed), tries, the next try and the last
        error. Filtered by status and case."""
        return [OutboxOut.of(i) for i in await repo.page(db, status, case_id, limit, offset)]


CONTROLLERS = [OutboxController]
