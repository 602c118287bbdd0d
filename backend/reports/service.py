"""Producing a case's reports: gather, fetch the stored files, render in a worker thread (never
on the event loop), audit the download (joins the request's unit of work).

The renderers (fpdf2, highdicom, fhir.resources: ~50 MB together) are imported on first use, so
an API process that never renders a report does not carry them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import anyio.to_thread
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.principal import Principal
from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.errors import Conflict
from backend.platform.services import Services
from backend.reports.context import ReportData, load_report


@dataclass(frozen=True)
class Rendered:
    data: bytes
    media_type: str
    filename: str


def _record(db: AsyncSession, ctx: AuditContext, data: ReportData, fmt: str) -> None:
    audit.record(
        db,
        ctx,
        audit.REPORT_DOWNLOAD,
        "case",
        data.case.id,
        {
            "format": fmt,
            "review_state": data.outcome.state,
            "model_version": data.case.model_version,
        },
    )


async def pdf_report(
    db: AsyncSession, services: Services, ctx: AuditContext, user: Principal, case_id: str
) -> Rendered:
    data = await load_report(db, user, case_id)
    if not data.case.overlay_key:
        raise Conflict("The overlay of this case is not stored; the report cannot be made.")
    overlay = await services.store.get(data.case.overlay_key)
    # on use, as fhir and dicom_export below: python -X importtime puts fpdf2 at ~3 s, the
    # FHIR models at ~0.2 s and highdicom at ~0.7 s on this machine, paid only when asked for
    from backend.reports.pdf import render_pdf

    pdf = await anyio.to_thread.run_sync(render_pdf, data, overlay)
    _record(db, ctx, data, "pdf")
    return Rendered(pdf, "application/pdf", f"medsegtext-{data.case.id}.pdf")


def _fhir_bytes(data: ReportData) -> bytes:
    from backend.reports import fhir  # on use (above)

    return json.dumps(fhir.validated(fhir.diagnostic_report(data)), indent=2).encode("utf-8")


async def fhir_report(
    db: AsyncSession, ctx: AuditContext, user: Principal, case_id: str
) -> Rendered:
    data = await load_report(db, user, case_id)
    body = await anyio.to_thread.run_sync(_fhir_bytes, data)
    _record(db, ctx, data, "fhir")
    return Rendered(body, "application/fhir+json", f"medsegtext-{data.case.id}.fhir.json")


async def dicom_report(
    db: AsyncSession,
    services: Services,
    ctx: AuditContext,
    user: Principal,
    case_id: str,
    kind: str,
) -> Rendered:
    """kind 'seg' or 'sr'; only for cases uploaded as DICOM (409 otherwise)."""
    data = await load_report(db, user, case_id)
    c = data.case
    if c.source_format != "dicom":
        raise Conflict(
            f"DICOM {kind.upper()} exports exist only for DICOM uploads; this case "
            f"was uploaded as {c.source_format.upper() or 'an image'}. Use "
            "report.pdf or report.fhir.json."
        )
    source = await services.store.get(c.image_key)
    from backend.reports import dicom_export  # on use (above)

    try:
        if kind == "seg":
            if not c.mask_key:
                raise Conflict("The mask of this case is not stored.")
            mask = await services.store.get(c.mask_key)
            body = await anyio.to_thread.run_sync(dicom_export.build_seg, source, mask, data)
        else:
            body = await anyio.to_thread.run_sync(dicom_export.build_sr, source, data)
    except dicom_export.NotExportable as e:
        raise Conflict(str(e)) from None
    _record(db, ctx, data, kind)
    return Rendered(body, "application/dicom", f"medsegtext-{c.id}-{kind}.dcm")
