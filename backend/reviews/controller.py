"""/api/cases/{id}/review and /reviews."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from backend.accounts import repository as accounts_repo
from backend.admin import audit
from backend.cases.schemas import CaseDetail
from backend.cases.scope_override import ScopeOverrideIn, override_scope
from backend.cases.service import visible_case
from backend.http.deps import Ctx, CurrentUser, Db, Svc
from backend.http.guards import REVIEWERS
from backend.http.openapi import refuses
from backend.reviews import repository as repo
from backend.reviews import service
from backend.reviews.schemas import ReviewIn, ReviewOut


class ReviewController(Controller):
    path = "/api/cases/{case_id:str}"
    tags = ("reviews",)

    @post("/review", guards=[REVIEWERS], responses=refuses(409, 410))
    async def review(
        self,
        case_id: FromPath[str],
        data: JSONBody[ReviewIn],
        db: Db,
        user: CurrentUser,
        ctx: Ctx,
        services: Svc,
    ) -> ReviewOut:
        """Review a case's findings.

        Accept, edit (with `findings_text`, or `zone_flags` from which the sentence is
        written) or reject the model's findings of a done case (201). Reviews are appended,
        never changed; the case's `review_state` follows the latest (audited). 409 when the
        case is not done or its stored image is missing (nobody signs off on a film they
        cannot see); 400 when accept changes the model's zone flags or edit gives neither
        text nor flags; 410 when the case was withdrawn."""
        review = await service.add_review(db, services, ctx, user, case_id, data)
        return ReviewOut.of(review, await accounts_repo.get_user(db, user.id))

    @post("/scope-override", guards=[REVIEWERS], responses=refuses(409, 410))
    async def scope_override(
        self,
        case_id: FromPath[str],
        data: JSONBody[ScopeOverrideIn],
        db: Db,
        user: CurrentUser,
        ctx: Ctx,
        services: Svc,
    ) -> CaseDetail:
        """Analyse an out-of-scope film anyway.

        With a reason (201, audited): the case is queued again and the worker skips the scope
        gate. 409 unless the case is out_of_scope; 410 when the case was withdrawn."""
        case = await override_scope(db, services, ctx, user, case_id, data)
        return CaseDetail.detail(case, [])

    @get("/reviews", responses=refuses(410))
    async def reviews(
        self, case_id: FromPath[str], db: Db, user: CurrentUser, ctx: Ctx
    ) -> list[ReviewOut]:
        """List a case's reviews.

        The review history, oldest first: decision, text, comment, corrected zone flags and
        reviewer (a case view for the audit trail). A clinician sees only their own cases'
        (404 for any other); 410 when the case was withdrawn."""
        case = await visible_case(db, user, case_id)
        await audit.record_view(db, ctx, "case", case.id)
        return [ReviewOut.of(r, u) for r, u in await repo.list_for_case(db, case.id)]


CONTROLLERS = [ReviewController]
