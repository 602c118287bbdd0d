"""/api/auth/* and /api/me."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from backend.accounts import repository as repo
from backend.accounts import service
from backend.accounts.schemas import LoginIn, LoginOut, TokenCreated, TokenIn, TokenOut, UserOut
from backend.accounts.tokens import SESSION_COOKIE
from backend.http.deps import Ctx, CurrentUser, Db, Svc
from backend.http.errors import TooManyRequests
from backend.http.openapi import refuses
from backend.http.params import PathId
from backend.http.requests import https_only

BAD_CREDENTIALS = "Incorrect email or password."


class AuthController(Controller):
    path = "/api/auth"
    tags = ("auth",)

    @post("/login", status_code=HTTP_200_OK, exclude_from_auth=True, responses=refuses(401, 429))
    async def login(self, data: JSONBody[LoginIn], db: Db, services: Svc,
                    ctx: Ctx) -> Response[LoginOut]:
        """Sign in: sets the HttpOnly session cookie and returns the same token for API use."""
        settings = services.settings
        try:
            issued, user = await service.login(db, ctx, settings, data.email, data.password)
        except service.LoginFailed:
            await db.commit()  # keep the failure count and the audit event
            raise NotAuthorizedException(BAD_CREDENTIALS) from None
        except service.LoginLocked as e:
            await db.commit()  # keep the audit event of the refused attempt
            raise TooManyRequests(
                f"Too many failed sign-in attempts; try again in {e.retry_after} seconds.",
                headers={"Retry-After": str(e.retry_after)}) from None
        cookie = Cookie(key=SESSION_COOKIE, value=issued.token, httponly=True, samesite="lax",
                        secure=https_only(settings), path="/",
                        max_age=settings.session_ttl_hours * 3600)
        body = LoginOut(issued.token, "bearer", issued.record.expires_at, UserOut.of(user))
        return Response(body, cookies=[cookie])

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(self, db: Db, user: CurrentUser, ctx: Ctx) -> Response[None]:
        """Revoke the token this request used, at once, and clear the cookie."""
        await service.logout(db, ctx, user)
        response: Response[None] = Response(None, status_code=HTTP_204_NO_CONTENT)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/tokens")
    async def list_tokens(self, db: Db, user: CurrentUser) -> list[TokenOut]:
        """The caller's personal API tokens (secrets are never shown again)."""
        return [TokenOut.of(t) for t in await repo.list_tokens(db, user.id, "personal")]

    @post("/tokens")
    async def create_token(self, data: JSONBody[TokenIn], db: Db, user: CurrentUser,
                           ctx: Ctx) -> TokenCreated:
        """Create a personal API token; the secret is in this response only."""
        issued = await service.create_personal_token(db, ctx, user, data.name)
        out = TokenOut.of(issued.record)
        return TokenCreated(**out.__dict__, token=issued.token)

    @delete("/tokens/{token_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_token(self, token_id: PathId, db: Db, user: CurrentUser,
                           ctx: Ctx) -> None:
        """Revoke one of the caller's tokens; it stops working at once."""
        if await service.revoke_token(db, ctx, user, token_id) is None:
            raise NotFoundException("No such token.")


class MeController(Controller):
    path = "/api/me"
    tags = ("auth",)

    @get()
    async def me(self, db: Db, user: CurrentUser) -> UserOut:
        """The signed-in user."""
        record = await repo.get_user(db, user.id)
        if record is None:
            raise NotAuthorizedException("The user no longer exists.")
        return UserOut.of(record)


CONTROLLERS = [AuthController, MeController]
