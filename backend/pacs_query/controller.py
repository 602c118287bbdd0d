"""/api/pacs: search the configured PACS and import studies from it (reviewers and admins).

The PACS is the hospital's record, so the search shows what a PACS user sees of a study (patient
ID, accession number, date, description) and nothing of it is stored here; an import makes the
cases through the DICOM node, de-identified like every other case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from backend.errors import Conflict
from backend.http.deps import Ctx, Db, Svc
from backend.http.guards import REVIEWERS
from backend.http.openapi import refuses
from backend.pacs_query import service
from backend.pacs_query.scu import Moved, PacsRefused

# DICOM LO / SH values without the characters a C-FIND reads as wildcards or separators
_PLAIN = r"^[^*?\\\x00-\x1f]*$"
PatientId = Annotated[
    str | None,
    QueryParameter(
        max_length=64,
        pattern=_PLAIN,
        description=("Patient ID as the PACS holds it (exact match)."),
    ),
]
Accession = Annotated[
    str | None,
    QueryParameter(max_length=16, pattern=_PLAIN, description=("Accession number (exact match).")),
]
DateFrom = Annotated[date | None, QueryParameter(description="Studies on or after this date.")]
DateTo = Annotated[date | None, QueryParameter(description="Studies on or before this date.")]


@dataclass
class StudyOut:
    study_instance_uid: str
    patient_id: str
    accession_number: str
    study_date: date | None
    study_description: str
    modalities: list[str]
    instances: int | None  # as the PACS counts them; None when it does not say


@dataclass
class StudiesOut:
    studies: list[StudyOut]
    more: bool  # the PACS had more than these; narrow the search


class ImportIn(msgspec.Struct):
    study_instance_uid: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=64,
            pattern=r"^[0-9]+(\.[0-9]+)*$",
            description="The study's Study Instance UID, from the search.",
        ),
    ]


@dataclass
class ImportOut:
    study_instance_uid: str
    cases: int  # instances the node stored: each is a case now
    not_stored: int  # refused by the node (lateral views, damaged data) or not sent
    skipped: int  # instances of series that are not radiographs (CR, DX, DR): not sent
    failures: list[str]  # the PACS's distinct statuses for the instances not stored
    detail: str


def _refused(e: PacsRefused) -> HTTPException:
    return HTTPException(status_code=502, detail=str(e))


def _criteria(
    patient_id: str | None, accession: str | None, date_from: date | None, date_to: date | None
) -> service.Criteria:
    criteria = service.Criteria(
        (patient_id or "").strip() or None, (accession or "").strip() or None, date_from, date_to
    )
    if not criteria.used():
        message = "Give a patient ID, an accession number or a date."
        raise ValidationException(
            message, extra=[{"key": "patient_id", "message": message, "source": "query"}]
        )
    if date_from and date_to and date_from > date_to:
        message = "date_from is after date_to."
        raise ValidationException(
            message, extra=[{"key": "date_from", "message": message, "source": "query"}]
        )
    return criteria


def _import_words(moved: Moved) -> str:
    skipped = (
        f" {moved.skipped} instance(s) of other modalities were not sent." if moved.skipped else ""
    )
    if moved.stored + moved.not_stored == 0:
        return "The PACS holds no radiograph (CR, DX, DR) in this study." + skipped
    if moved.stored == 0:
        return (
            f"No case was made: the node refused the {moved.not_stored} radiograph(s) "
            "(it takes frontal chest films only), or the PACS could not reach it (is "
            "`python -m backend.dicom_node` running?)." + skipped
        )
    refused = (
        f" {moved.not_stored} not stored (lateral views, or not chest films)."
        if moved.not_stored
        else ""
    )
    return f"{moved.stored} case(s) made; they are in the worklist now.{refused}{skipped}"


class PacsController(Controller):
    path = "/api/pacs"
    tags = ("pacs",)
    guards = (REVIEWERS,)

    @get("/studies", responses=refuses(409, 502))
    async def studies(
        self,
        db: Db,
        services: Svc,
        ctx: Ctx,
        patient_id: PatientId = None,
        accession_number: Accession = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
    ) -> StudiesOut:
        """Search the PACS for studies.

        A C-FIND (Study Root) at the configured PACS by patient ID, accession number and/or
        study date range (at least one), newest first, at most 100 (`more` says when the PACS
        had more). Audited (pacs.query: the criteria used, not their values). 409 when no PACS
        is configured, 503 when it does not answer, 502 when it refuses the search."""
        criteria = _criteria(patient_id, accession_number, date_from, date_to)
        try:
            found, more = await service.search(db, services.settings, ctx, criteria)
        except service.NotConfigured as e:
            raise Conflict(str(e)) from None
        except PacsRefused as e:
            raise _refused(e) from None
        return StudiesOut([StudyOut(**vars(s)) for s in found], more)

    @post("/imports", status_code=HTTP_200_OK, responses=refuses(409, 502))
    async def import_study(
        self, data: JSONBody[ImportIn], db: Db, services: Svc, ctx: Ctx
    ) -> ImportOut:
        """Import a study from the PACS.

        Asks the PACS to send the study's radiographs (CR, DX, DR series) to the DICOM node,
        one instance at a time (C-MOVE to the node's AE title; the PACS must know the node as
        a modality), and answers when it has: each frontal chest film becomes a case,
        de-identified, owned by the node's service account, and is analysed like any other.
        Audited (pacs.import). 409 when no PACS is configured, 503 when it does not answer,
        502 when it refuses (e.g. it does not know the node)."""
        try:
            moved = await service.import_study(db, services.settings, ctx, data.study_instance_uid)
        except service.NotConfigured as e:
            raise Conflict(str(e)) from None
        except PacsRefused as e:
            raise _refused(e) from None
        return ImportOut(
            data.study_instance_uid,
            moved.stored,
            moved.not_stored,
            moved.skipped,
            moved.failures,
            _import_words(moved),
        )


CONTROLLERS = [PacsController]
