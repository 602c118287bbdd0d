"""Keeping and reading the identity map. No read is silent: each records an audit event
(identity.read: who, which case, why) in the reader's unit of work, so the identifiers are
only used once the event is committed with them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.identity_map.identifiers import Identity
from backend.identity_map.models import CaseIdentity
from backend.identity_map.sealing import key_id, key_of, seal, unseal
from backend.settings import Settings

ADMIN, SEND = "admin", "send"  # the purposes a read is recorded with


@dataclass(frozen=True)
class SystemCtx:
    """Who reads when no person does: the PACS sender (audit user none, role "system")."""

    request_id: str
    user_id: int | None = None
    role: str | None = "system"
    client_addr: str | None = None


def keep(
    db: AsyncSession, settings: Settings, case_id: str, calling_ae: str, identity: Identity
) -> None:
    """Add the case's sealed identity to the caller's unit of work (the node's, with the
    case row: both are committed, or neither)."""
    key = key_of(settings)
    db.add(
        CaseIdentity(
            case_id=case_id,
            calling_ae=calling_ae,
            key_id=key_id(key),
            sealed=seal(key, case_id, identity.to_json()),
        )
    )


async def came_from_pacs(db: AsyncSession, case_id: str) -> bool:
    """Whether the case has an identity (opens nothing, so it is not a read)."""
    return await db.get(CaseIdentity, case_id) is not None


async def read(
    db: AsyncSession,
    settings: Settings,
    ctx: AuditContext,
    case_id: str,
    purpose: str,
    **detail: object,
) -> tuple[CaseIdentity, Identity] | None:
    """The case's identity, recorded as read; None for a case with none (an upload)."""
    row = await db.get(CaseIdentity, case_id)
    if row is None:
        return None
    identity = Identity.from_json(unseal(key_of(settings), case_id, row.sealed))
    audit.record(db, ctx, audit.IDENTITY_READ, "case", case_id, {"purpose": purpose, **detail})
    return row, identity
