"""/api/cases/{id}/report.pdf, /report.fhir.json, /seg.dcm and /sr.dcm: the same object-level
authorisation as the case (another clinician's case is 404), 409 until the case is done, and
every download audited (action report.download)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from backend.http.deps import Ctx, CurrentUser, Db, Svc
from backend.http.openapi import refuses
from backend.reports import service
from backend.reports.service import Rendered

# 409 until the case is done, and for DICOM exports of a PNG/JPEG upload; 410 once withdrawn
UNTIL_DONE = refuses(409, 410)
FHIR_JSON = ResponseSpec(
    data_container=dict[str, Any],
    media_type="application/fhir+json",
    generate_examples=False,
    description="A FHIR R4 DiagnosticReport.",
)


def _send(r: Rendered, disposition: str = "attachment") -> Response[bytes]:
    return Response(
        r.data,
        media_type=r.media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{r.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


class ReportController(Controller):
    path = "/api/cases/{case_id:str}"
    tags = ("reports",)

    @get("/report.pdf", media_type="application/pdf", responses=UNTIL_DONE)
    async def pdf(
        self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx, user: CurrentUser
    ) -> Response[bytes]:
        """Download the PDF report.

        The overlay, findings, zone map, lesion burden, model, review state and the
        decision-support notice (audited). 409 until the case is done; 410 when the case was
        withdrawn."""
        return _send(await service.pdf_report(db, services, ctx, user, case_id), "inline")

    @get(
        "/report.fhir.json",
        media_type="application/fhir+json",
        responses={**UNTIL_DONE, 200: FHIR_JSON},
    )
    async def fhir(
        self, case_id: FromPath[str], db: Db, ctx: Ctx, user: CurrentUser
    ) -> Response[bytes]:
        """Download the FHIR report.

        A FHIR R4 DiagnosticReport with contained Observations (zone probabilities, lesion
        burden, laterality); status preliminary until reviewed, final once accepted or
        edited, entered-in-error if rejected (audited). 409 until the case is done; 410 when
        the case was withdrawn."""
        return _send(await service.fhir_report(db, ctx, user, case_id))

    @get("/seg.dcm", media_type="application/dicom", responses=UNTIL_DONE)
    async def seg(
        self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx, user: CurrentUser
    ) -> Response[bytes]:
        """Download the DICOM Segmentation.

        The lesion mask as a DICOM SEG referencing the source image (audited). DICOM uploads
        only: 409 for a PNG or JPEG upload, and until the case is done; 410 when the case was
        withdrawn."""
        return _send(await service.dicom_report(db, services, ctx, user, case_id, "seg"))

    @get("/sr.dcm", media_type="application/dicom", responses=UNTIL_DONE)
    async def sr(
        self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx, user: CurrentUser
    ) -> Response[bytes]:
        """Download the DICOM Structured Report.

        The findings as a DICOM Enhanced SR referencing the source image (audited). DICOM
        uploads only: 409 for a PNG or JPEG upload, and until the case is done; 410 when the
        case was withdrawn."""
        return _send(await service.dicom_report(db, services, ctx, user, case_id, "sr"))


CONTROLLERS = [ReportController]
