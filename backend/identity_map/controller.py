"""/api/admin/cases/{id}/identity: an admin reads a PACS case's original identifiers (to
answer "whose film is this?", or to check what the sender will write); audited."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from backend.http.deps import Ctx, Db, Svc
from backend.http.guards import ADMINS
from backend.identity_map import service
from backend.identity_map.identifiers import Identity


@dataclass(frozen=True)
class IdentityOut(Identity):
    """The original identifiers, the PACS that sent the film and when it arrived."""

    calling_ae: str = ""
    received_at: datetime | None = None


class IdentityController(Controller):
    path = "/api/admin/cases/{case_id:str}"
    tags = ("admin",)
    guards = (ADMINS,)

    @get("/identity")
    async def identity(
        self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx
    ) -> IdentityOut:
        """Read a PACS case's original identifiers.

        The patient ID, name, birth date and sex, accession number, study attributes and the
        original Study, Series and SOP Instance UIDs the results are sent back with. Every
        read is audited (identity.read). 404 for a case that did not come from a PACS
        (uploads are de-identified and keep no identity) or does not exist."""
        found = await service.read(db, services.settings, ctx, case_id, service.ADMIN)
        if found is None:
            raise NotFoundException(
                f"No identity is kept for case {case_id}: it did not come "
                "from a PACS, or does not exist."
            )
        row, identity = found
        return IdentityOut(
            **asdict(identity), calling_ae=row.calling_ae, received_at=row.created_at
        )


CONTROLLERS = [IdentityController]
