"""/api/cases: upload, list, detail and the image/mask/overlay bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, MultipartBody, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.principal import Principal, RequestCtx
from backend.adapters.errors import ObjectMissing
from backend.admin import audit
from backend.cases import limits, service
from backend.cases.enums import CaseStatus, Priority
from backend.cases.repository import CaseQuery
from backend.cases.schemas import CaseCreated, CaseDetail, CasePage, CaseSummary
from backend.cases.upload import parse_fields
from backend.cases.zones import ZoneFlags
from backend.http.deps import Ctx, CurrentUser, Db, Svc
from backend.http.guards import CLINICAL_UPLOAD
from backend.http.openapi import ErrorBody, refuses
from backend.http.params import ID_MAX, ID_MIN, Limit, Offset
from backend.platform.db import utcnow
from backend.platform.instants import utc
from backend.platform.services import Services
from backend.platform.unit_of_work import commit
from backend.reviews import repository as reviews_repo
from backend.reviews.enums import ReviewState
from backend.reviews.outcome import outcome_of
from backend.reviews.schemas import ReviewOut
from backend.triage.policy import TriagePolicy, assess_case

Sort = Literal["triage", "newest", "oldest", "priority"]
GONE = refuses(410)  # withdrawn to quarantine, or a stored file is missing


@dataclass
class CaseUploadForm:
    """multipart/form-data. Optional fields may be absent or empty. age: whole years 0-130;
    sex: M, F or O; acquired_at: ISO 8601 (no offset = UTC); priority: routine, urgent or stat;
    priority_reason: why the priority (at most 500 characters), required for stat."""

    file: UploadFile
    patient_ref: str | None = None
    age: str | None = None
    sex: str | None = None
    acquired_at: str | None = None
    priority: str | None = None
    notes: str | None = None
    priority_reason: str | None = None


async def case_detail(
    db: AsyncSession, services: Services, case_id: str, user: Principal, policy: TriagePolicy
) -> CaseDetail:
    case = await service.visible_case(db, user, case_id)
    history = await reviews_repo.list_for_case(db, case.id)
    out = CaseDetail.detail(
        case, [ReviewOut.of(r, u) for r, u in history], assess_case(policy, case, utcnow())
    )
    out.image_missing = await service.image_missing(services, case)
    if history:
        outcome = outcome_of(case, *history[-1])
        out.reviewed_findings_text = outcome.findings_text
        out.reviewed_zone_flags = ZoneFlags.of(outcome.zone_flags)
    return out


class CaseController(Controller):
    path = "/api/cases"
    tags = ("cases",)

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        guards=[CLINICAL_UPLOAD],
        responses={
            **refuses(413, 415, 422),
            429: ResponseSpec(
                data_container=ErrorBody,
                generate_examples=False,
                description=(
                    "Over a per-user upload limit (`rule`: uploads_per_minute or "
                    "stat_uploads_per_hour); see Retry-After."
                ),
            ),
        },
    )
    async def upload(
        self,
        data: MultipartBody[CaseUploadForm],
        db: Db,
        services: Svc,
        ctx: Ctx,
        user: CurrentUser,
    ) -> CaseCreated:
        """Upload a chest image.

        PNG, JPEG or DICOM, recognised by content, not by name. DICOM is de-identified and
        PNG/JPEG metadata stripped before anything is stored; the file's name is not kept.
        Answers 202 with the queued case (`enqueued: false` when the queue is down: the case
        is picked up later). Refused uploads store nothing: 413 when the file is too large,
        415 when it is not a PNG, JPEG or DICOM image, 422 when it is damaged or holds no
        usable image (`code` names the reason). STAT priority needs a `priority_reason` (400
        without); uploads per user are limited per minute, STAT ones per hour (429 naming
        the rule, with Retry-After)."""
        fields = parse_fields(data)
        reason = limits.priority_reason(data.priority_reason, fields.priority)
        try:
            content = await data.file.read()
        finally:
            await data.file.close()
        case, job = await service.create_case(db, services, ctx, user, fields, content, reason)
        try:
            await commit(db)  # here, not after the handler: the answer says if it was enqueued
        except BaseException:
            if not job.committed:  # no row: no file either
                await service.discard_upload(services, case)
            raise
        triage = assess_case(TriagePolicy.from_settings(services.settings), case, utcnow())
        return CaseCreated(
            **CaseDetail.detail(case, [], triage).__dict__, enqueued=bool(job.result)
        )

    @get("/", responses=refuses(403))
    async def list_cases(
        self,
        db: Db,
        user: CurrentUser,
        services: Svc,
        status: FromQuery[CaseStatus | None] = None,
        priority: FromQuery[Priority | None] = None,
        review_state: FromQuery[ReviewState | None] = None,
        owner: Annotated[
            int | None,
            QueryParameter(
                ge=ID_MIN, le=ID_MAX, description="owner's user id (reviewers and admins)"
            ),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                description=("search in patient_ref and findings (upload file names are not kept)"),
            ),
        ] = None,
        created_from: FromQuery[datetime | None] = None,
        created_to: FromQuery[datetime | None] = None,
        sort: Annotated[
            Sort,
            QueryParameter(
                description=(
                    "triage (default): most urgent first, see triage_score and triage_reason"
                )
            ),
        ] = "triage",
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> CasePage:
        """List cases (the worklist).

        The cases the caller may see (a clinician: their own; reviewers and admins: all),
        filtered and paged; by default in worklist order: triage score (priority, lesion
        burden, waiting time), then oldest first. 403 when a clinician filters by another
        owner."""
        query = CaseQuery(
            owner_id=owner,
            status=status,
            priority=priority,
            review_state=review_state,
            q=(q or "").strip() or None,
            created_from=utc(created_from, "created_from"),
            created_to=utc(created_to, "created_to"),
            sort=sort,
            limit=limit,
            offset=offset,
        )
        policy = TriagePolicy.from_settings(services.settings)
        rows, total = await service.search(db, user, query, policy)
        return CasePage(
            [CaseSummary.of(c, t, outcome) for c, t, outcome in rows], total, limit, offset
        )

    @get("/{case_id:str}", responses=GONE)
    async def detail(
        self, case_id: FromPath[str], db: Db, user: CurrentUser, ctx: Ctx, services: Svc
    ) -> CaseDetail:
        """Get a case.

        Its status, the model's results (findings, zone probabilities and flags, lesion
        burden, model version, timings), triage and review history, and the reviewed
        conclusion. `image_missing`: the uploaded film is no longer in the object store (the
        case cannot be shown or reviewed). A clinician sees only their own cases (404 for
        any other); 410 when the case was withdrawn to quarantine. Each view is audited."""
        out = await case_detail(
            db, services, case_id, user, TriagePolicy.from_settings(services.settings)
        )
        await audit.record_view(db, ctx, "case", case_id)
        return out

    async def _artifact(
        self,
        kind: str,
        case_id: str,
        db: AsyncSession,
        services: Services,
        ctx: RequestCtx,
        user: Principal,
    ) -> Response[bytes]:
        try:
            art = await service.read_artifact(db, services, ctx, user, case_id, kind)
        except ObjectMissing:
            raise service.missing_artifact(kind) from None
        return Response(
            art.data,
            media_type=art.content_type,
            headers={
                "Content-Disposition": f'inline; filename="{art.filename}"',
                "Cache-Control": "private, no-store",
            },
        )

    @get("/{case_id:str}/image", media_type="application/octet-stream", responses=GONE)
    async def image(
        self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx, user: CurrentUser
    ) -> Response[bytes]:
        """Download the uploaded image.

        The stored (de-identified) upload in its own format (audited). 410 when the film is
        missing from the object store or the case was withdrawn; 404 for a case the caller
        may not see."""
        return await self._artifact("image", case_id, db, services, ctx, user)

    @get("/{case_id:str}/preview", media_type="image/png", responses=GONE)
    async def preview(
        self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx, user: CurrentUser
    ) -> Response[bytes]:
        """Get the image as a PNG.

        The upload rendered as a grayscale PNG a browser can show, DICOM included (windowed
        as the model saw it; audited). 410 when the film is missing from the object store or
        the case was withdrawn."""
        return await self._artifact("preview", case_id, db, services, ctx, user)

    @get("/{case_id:str}/thumbnail", media_type="image/png", responses=GONE)
    async def thumbnail(
        self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx, user: CurrentUser
    ) -> Response[bytes]:
        """Get a thumbnail of the image.

        The preview scaled to at most 128 px on its longest side, for the worklist (audited).
        410 when the film is missing from the object store or the case was withdrawn."""
        return await self._artifact("thumbnail", case_id, db, services, ctx, user)

    @get("/{case_id:str}/mask", media_type="image/png", responses=GONE)
    async def mask(
        self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx, user: CurrentUser
    ) -> Response[bytes]:
        """Get the lesion mask.

        The model's lesion mask as a PNG at the image's size (audited). 404 until the case is
        done; 410 when the stored mask is missing from the object store or the case was
        withdrawn."""
        return await self._artifact("mask", case_id, db, services, ctx, user)

    @get("/{case_id:str}/overlay", media_type="image/png", responses=GONE)
    async def overlay(
        self, case_id: FromPath[str], db: Db, services: Svc, ctx: Ctx, user: CurrentUser
    ) -> Response[bytes]:
        """Get the overlay.

        The image with the lesion outlined, as a PNG (audited). 404 until the case is done;
        410 when the stored overlay is missing from the object store or the case was
        withdrawn."""
        return await self._artifact("overlay", case_id, db, services, ctx, user)


CONTROLLERS = [CaseController]
