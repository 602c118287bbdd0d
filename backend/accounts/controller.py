"""/api/auth/* and /api/me."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, NotFoundException, ValidationException
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from backend.accounts import lifecycle, service
from backend.accounts import repository as repo
from backend.accounts.admin_controller import AdminTokensController
from backend.accounts.passwords import PasswordPolicyError
from backend.accounts.schemas import (
    LoginIn,
    LoginOut,
    MeOut,
    PasswordChangeIn,
    Revoked,
    SessionOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserOut,
)
from backend.accounts.tokens import SESSION_COOKIE
from backend.errors import Conflict, TooManyRequests
from backend.http.deps import Ctx, CurrentUser, Db, Svc
from backend.http.openapi import refuses
from backend.http.params import PathId
from backend.http.requests import https_only
from backend.platform.db import utcnow

BAD_CREDENTIALS = "Incorrect email or password."
WRONG_CURRENT = "The current password is not correct."


def _field(key: str, message: str) -> ValidationException:
    return ValidationException(message, extra=[{"key": key, "message": message, "source": "body"}])


class AuthController(Controller):
    path = "/api/auth"
    tags = ("auth",)

    @post("/login", status_code=HTTP_200_OK, exclude_from_auth=True, responses=refuses(401, 429))
    async def login(
        self,
        data: JSONBody[LoginIn],
        db: Db,
        services: Svc,
        ctx: Ctx,
        request: Request[Any, Any, Any],
    ) -> Response[LoginOut]:
        """Sign in with email and password.

        Sets the HttpOnly session cookie and returns the same token for API clients
        (`Authorization: Bearer`). Past the per-user session limit the oldest session ends.
        401 for a wrong email or password (the answer never says which); wrong passwords are
        throttled per account and client address: 429 with Retry-After, for that client
        only."""
        settings = services.settings
        try:
            issued, user = await service.login(
                db, ctx, settings, data.email, data.password, request.headers.get("user-agent")
            )
        except service.LoginFailed:
            await db.commit()  # keep the failure count and the audit event
            raise NotAuthorizedException(BAD_CREDENTIALS) from None
        except service.LoginLocked as e:
            await db.commit()  # keep the audit event of the refused attempt
            raise TooManyRequests(
                f"Too many failed sign-in attempts; try again in {e.retry_after} seconds.",
                retry_after_s=e.retry_after,
            ) from None
        cookie = Cookie(
            key=SESSION_COOKIE,
            value=issued.token,
            httponly=True,
            samesite="lax",
            secure=https_only(settings),
            path="/",
            max_age=settings.session_ttl_hours * 3600,
        )
        body = LoginOut(issued.token, "bearer", issued.record.expires_at, UserOut.of(user))
        return Response(body, cookies=[cookie])

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(self, db: Db, user: CurrentUser, ctx: Ctx) -> Response[None]:
        """Sign out.

        Revokes the token this request used, at once, and clears the session cookie (204).
        Other sessions and personal tokens are left alone."""
        await service.logout(db, ctx, user)
        response: Response[None] = Response(None, status_code=HTTP_204_NO_CONTENT)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @post("/password", status_code=HTTP_200_OK, responses=refuses(429))
    async def change_password(
        self, data: JSONBody[PasswordChangeIn], db: Db, user: CurrentUser, ctx: Ctx, services: Svc
    ) -> Revoked:
        """Change your own password.

        The current password is required. The new one must meet the policy (at least 12
        characters, not blank, not your email or its name part) and differ from the current:
        otherwise a 400 naming new_password and the rule. A wrong current password is a 400
        naming current_password (audited as auth.password_change_failed); after as many wrong
        ones as sign-in allows, 429 with Retry-After (sign-in itself is not locked). On
        success every other sign-in session and every personal API token of yours ends at
        once, for good; the session this request used stays signed in (a personal token used
        for the change ends too). `revoked` counts what ended."""
        try:
            revoked = await service.change_own_password(
                db, ctx, services.settings, user, data.current_password, data.new_password
            )
        except service.WrongPassword:
            await db.commit()  # keep the failure count and the audit event
            raise _field("current_password", WRONG_CURRENT) from None
        except service.LoginLocked as e:
            await db.commit()
            raise TooManyRequests(
                "Too many wrong current passwords; try changing your password again in "
                f"{e.retry_after} seconds.",
                retry_after_s=e.retry_after,
            ) from None
        except PasswordPolicyError as e:
            raise _field("new_password", str(e)) from None
        except service.AccountError as e:
            raise NotAuthorizedException(str(e)) from None
        return Revoked(revoked)

    @get("/tokens")
    async def list_tokens(self, db: Db, user: CurrentUser, services: Svc) -> list[TokenOut]:
        """List your personal API tokens.

        Ended ones included; secrets are never shown again. `expires_at` is when each ends at
        the latest."""
        return [
            TokenOut.of(t, lifecycle.expiry(t, services.settings))
            for t in await repo.list_tokens(db, user.id, lifecycle.PERSONAL)
        ]

    @post("/tokens", responses=refuses(409))
    async def create_token(
        self,
        data: JSONBody[TokenIn],
        db: Db,
        user: CurrentUser,
        ctx: Ctx,
        services: Svc,
        request: Request[Any, Any, Any],
    ) -> TokenCreated:
        """Create a personal API token.

        The secret is in this response only (201). It lives `expires_in_days`, at most and by
        default the server's maximum (400 beyond it). 409 when you already have the most live
        personal tokens allowed."""
        try:
            issued = await lifecycle.create_personal_token(
                db,
                ctx,
                services.settings,
                user,
                data.name,
                data.expires_in_days,
                utcnow(),
                request.headers.get("user-agent"),
            )
        except lifecycle.TokenRefused as e:
            raise ValidationException(
                str(e), extra=[{"key": e.field, "message": str(e), "source": "body"}]
            ) from None
        except lifecycle.TooManyTokens as e:
            raise Conflict(str(e)) from None
        out = TokenOut.of(issued.record)
        return TokenCreated(**out.__dict__, token=issued.token)

    @delete("/tokens/{token_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_token(self, token_id: PathId, db: Db, user: CurrentUser, ctx: Ctx) -> None:
        """Revoke one of your tokens.

        A personal token or a sign-in session of yours stops working at once (204). 404 for a
        token that is not yours."""
        if await service.revoke_token(db, ctx, user, token_id) is None:
            raise NotFoundException("No such token.")

    @get("/sessions")
    async def list_sessions(self, db: Db, user: CurrentUser, services: Svc) -> list[SessionOut]:
        """List your live sign-in sessions.

        Newest first: when each began and was last used, the address and browser it began
        from, and which one this request used (`current`)."""
        settings = services.settings
        return [
            SessionOut(
                t.id,
                t.created_at,
                t.last_used_at,
                lifecycle.expiry(t, settings),
                t.client_addr,
                t.user_agent,
                t.id == user.token_id,
            )
            for t in await lifecycle.live_sessions(db, settings, user.id, utcnow())
            if t.id is not None
        ]

    @delete("/sessions/{session_id:int}", status_code=HTTP_204_NO_CONTENT, responses=refuses(409))
    async def end_session(self, session_id: PathId, db: Db, user: CurrentUser, ctx: Ctx) -> None:
        """End one of your other sessions.

        The session stops working at once (204, audited). 409 for the session this request
        uses (sign out for that); 404 for one that is not yours or has ended."""
        try:
            ended = await lifecycle.end_session(db, ctx, user, session_id, utcnow())
        except lifecycle.CurrentSession as e:
            raise Conflict(str(e)) from None
        if ended is None:
            raise NotFoundException("No such session.")

    @post("/sessions/end-others", status_code=HTTP_200_OK)
    async def end_other_sessions(self, db: Db, user: CurrentUser, ctx: Ctx) -> Revoked:
        """End all your other sessions.

        Every sign-in session of yours but the one this request uses ends at once (each
        audited); personal API tokens are left alone. `revoked` counts what ended."""
        return Revoked(
            await lifecycle.revoke_all(
                db,
                ctx,
                user.id,
                "end_others",
                utcnow(),
                kind=lifecycle.SESSION,
                keep_token_id=user.token_id,
            )
        )


class MeController(Controller):
    path = "/api/me"
    tags = ("auth",)

    @get()
    async def me(self, db: Db, user: CurrentUser) -> MeOut:
        """Who you are, and what you may do.

        The signed-in user: id, email, name, role, when they last signed in, and the
        permissions the role grants (`upload_cases`, `review_cases`, `see_all_cases`,
        `administer`). 401 when the user no longer exists."""
        record = await repo.get_user(db, user.id)
        if record is None:
            raise NotAuthorizedException("The user no longer exists.")
        return MeOut.of(record)


CONTROLLERS = [AuthController, MeController, AdminTokensController]
