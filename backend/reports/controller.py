"""/api/cases/{id}/report.pdf, /report.fhir.json, /seg.dcm and /sr.dcm: the same object-level
authorisation as the case (another clinician's case is 404), 409 until the case is done, and
every download audited (action report.download)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.params import FromPath

from backend.http.deps import Ctx, CurrentUser, Db, Svc
from backend.reports import service
from backend.reports.service import Rendered


def _send(r: Rendered, disposition: str = "attachment") -> Response[bytes]:
    return Response(r.data, media_type=r.media_type, headers={
        "Content-Disposition": f'{disposition}; filename="{r.filename}"',
        "Cache-Control": "private, no-store",
    })


class ReportController(Controller):
    path = "/api/cases/{case_id:str}"
    tags = ("reports",)

    @get("/report.pdf", media_type="application/pdf")
    async def pdf(self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx,
                  user: CurrentUser) -> Response[bytes]:
        """The PDF report: overlay, findings, zone map, burden, model, review state and the
        decision-support notice."""
        return _send(await service.pdf_report(db, services, ctx, user, case_id), "inline")

    @get("/report.fhir.json", media_type="application/fhir+json")
    async def fhir(self, case_id: FromPath[str], db: Db, ctx: Ctx,
                   user: CurrentUser) -> Response[bytes]:
        """FHIR R4 DiagnosticReport with contained Observations (zone probabilities, lesion
        burden, laterality); status preliminary until reviewed, final once accepted or
        edited, entered-in-error if rejected."""
        return _send(await service.fhir_report(db, ctx, user, case_id))

    @get("/seg.dcm", media_type="application/dicom")
    async def seg(self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx,
                  user: CurrentUser) -> Response[bytes]:
        """DICOM Segmentation of the lesion mask, referencing the source image (DICOM
        uploads only; 409 otherwise)."""
        return _send(await service.dicom_report(db, services, ctx, user, case_id, "seg"))

    @get("/sr.dcm", media_type="application/dicom")
    async def sr(self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx,
                 user: CurrentUser) -> Response[bytes]:
        """DICOM Enhanced SR of the findings (DICOM uploads only; 409 otherwise)."""
        return _send(await service.dicom_report(db, services, ctx, user, case_id, "sr"))


CONTROLLERS = [ReportController]
