"""/api/admin/users/{user_id}/tokens: an admin sees and ends a user's sign-in sessions and
personal API tokens (a lost laptop, a leaked token, someone leaving). Every revocation is
audited with the admin as actor."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from backend.accounts import lifecycle
from backend.accounts import repository as repo
from backend.accounts.schemas import Revoked, TokenOut, TokenPage
from backend.http.deps import Ctx, Db, Svc
from backend.http.guards import ADMINS
from backend.http.params import PathId
from backend.platform.db import utcnow

Kind = Annotated[
    Literal["session", "personal"] | None,
    QueryParameter(
        description="Only sign-in sessions or only personal API tokens; both when left out."
    ),
]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Offset = Annotated[int, QueryParameter(ge=0, le=2**31 - 1)]


async def _user_exists(db: Db, user_id: int) -> None:
    if await repo.get_user(db, user_id) is None:
        raise NotFoundException(f"No user {user_id}.")


class AdminTokensController(Controller):
    path = "/api/admin/users/{user_id:int}/tokens"
    tags = ("admin",)
    guards = (ADMINS,)

    @get()
    async def list_user_tokens(
        self,
        user_id: PathId,
        db: Db,
        services: Svc,
        kind: Kind = None,
        include_ended: FromQuery[bool] = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> TokenPage:
        """List a user's sessions and personal tokens.

        Newest first: the live ones, or every one with `include_ended`. Secrets are never
        shown; `expires_at` is when each ends at the latest. 404 for an unknown user."""
        await _user_exists(db, user_id)
        settings = services.settings
        live = None if include_ended else lifecycle.liveness(settings, utcnow())
        rows, total = await repo.page_tokens(
            db, user_id, kind=kind, live=live, limit=limit, offset=offset
        )
        return TokenPage(
            [TokenOut.of(t, lifecycle.expiry(t, settings)) for t in rows], total, limit, offset
        )

    @delete("/{token_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_user_token(self, user_id: PathId, token_id: PathId, db: Db, ctx: Ctx) -> None:
        """Revoke one of a user's sessions or tokens.

        It stops working at once (204, audited with the admin as actor); 404 unless the token
        is that user's."""
        if await lifecycle.revoke_one(db, ctx, user_id, token_id, "admin", utcnow()) is None:
            raise NotFoundException(f"User {user_id} has no token {token_id}.")

    @post("/revoke-all", status_code=HTTP_200_OK)
    async def revoke_all_user_tokens(
        self, user_id: PathId, db: Db, ctx: Ctx, kind: Kind = None
    ) -> Revoked:
        """Revoke all of a user's sessions and tokens.

        Every sign-in session and personal token of the user (or only those of `kind`) stops
        working at once, each audited; your own current session is kept when the user is
        you. `revoked` counts what ended; 404 for an unknown user."""
        await _user_exists(db, user_id)
        keep = ctx.user.token_id if ctx.user is not None else None
        return Revoked(
            await lifecycle.revoke_all(
                db, ctx, user_id, "admin", utcnow(), kind=kind, keep_token_id=keep
            )
        )
