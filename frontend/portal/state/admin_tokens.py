"""Admin: one user's sign-in sessions and personal API tokens, and revoking them.

For a lost laptop, a leaked token or someone leaving: the Users page opens this for a user
(GET /api/admin/users/{id}/tokens, live ones or every one, one kind or both, in pages); the
admin revokes one, or all of the shown kind after a confirmation step. Each revocation stops
the token at once and is audited with the admin as actor.
"""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt, routes
from portal.routes import Route
from portal.state.auth import AuthState
from portal.state.fields import field
from portal.state.models import TokenRow
from portal.state.token_rows import token_row

PAGE = 50
KINDS = ("", "session", "personal")  # "": both
WHAT = {
    "": "sessions and personal tokens",
    "session": "sign-in sessions",
    "personal": "personal API tokens",
}


class AdminTokensState(AuthState):
    route: ClassVar[Route] = routes.USERS  # the Users page's tokens dialog
    dialog_open: bool = False
    subject_id: int = 0  # the user whose tokens are shown (user_id is the signed-in admin)
    subject_email: str = ""
    kind: str = ""
    include_ended: bool = False
    items: list[TokenRow] = field(list)
    total: int = 0
    offset: int = 0
    loading: bool = False
    error: str = ""
    message: str = ""
    confirming: bool = False  # the revoke-all confirmation step is showing
    revoke_busy: bool = False

    @rx.var
    def what(self) -> str:
        return WHAT.get(self.kind, WHAT[""])

    @rx.var
    def range_text(self) -> str:
        return fmt.page_range(self.offset, self.total, PAGE, f"No {self.what}")

    @rx.var
    def has_prev(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + PAGE < self.total

    def _path(self) -> str:
        return f"/api/admin/users/{self.subject_id}/tokens"

    async def _refresh(self) -> Any:
        params: dict[str, Any] = {
            "limit": PAGE,
            "offset": self.offset,
            "include_ended": "true" if self.include_ended else "false",
        }
        if self.kind:
            params["kind"] = self.kind
        self.loading = True
        try:
            page = await self._api("GET", self._path(), params=params)
        except api.ApiError as e:
            self.loading, self.error = False, e.detail
            return self._after_error(e)
        self.items = [token_row(t) for t in (page or {}).get("items", []) if isinstance(t, dict)]
        self.total = int((page or {}).get("total", len(self.items)))
        self.loading, self.error = False, ""
        return None

    @rx.event
    async def show(self, user_id: int, email: str) -> Any:
        """Open the dialog for one user (the Users page's button)."""
        self.subject_id, self.subject_email = int(user_id), str(email)
        self.kind, self.include_ended, self.offset = "", False, 0
        self.items, self.total = [], 0
        self.error = self.message = ""
        self.confirming = self.revoke_busy = False
        self.dialog_open = True
        yield
        if (r := await self._refresh()) is not None:
            yield r

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        """Radix's on_open_change: Escape, the close button or a click outside."""
        self.dialog_open = bool(value)
        if not value:
            self.confirming = False

    @rx.event
    async def filter_kind(self, kind: str) -> Any:
        self.kind = kind if kind in KINDS else ""
        self.offset, self.confirming, self.message = 0, False, ""
        return await self._refresh()

    @rx.event
    async def show_ended(self, value: bool) -> Any:
        self.include_ended, self.offset, self.message = bool(value), 0, ""
        return await self._refresh()

    @rx.event
    async def next_page(self) -> Any:
        if self.offset + PAGE < self.total:
            self.offset += PAGE
        return await self._refresh()

    @rx.event
    async def prev_page(self) -> Any:
        self.offset = max(0, self.offset - PAGE)
        return await self._refresh()

    @rx.event
    async def revoke(self, token_id: int) -> Any:
        row = next((t for t in self.items if t.id == token_id), None)
        label = (
            f"{'session' if row.kind == 'session' else 'token'} “{row.name}” ({row.prefix}…)"
            if row
            else f"token {token_id}"
        )
        self.message, self.confirming = "", False
        try:
            await self._api("DELETE", f"{self._path()}/{int(token_id)}")
        except api.ApiError as e:
            self.error = e.detail
            return self._after_error(e)
        self.message = f"Revoked the {label} of {self.subject_email}; it stops working at once."
        return await self._refresh()

    @rx.event
    def ask_revoke_all(self) -> None:
        self.confirming, self.message = True, ""

    @rx.event
    def cancel_revoke_all(self) -> None:
        self.confirming = False

    @rx.event
    async def revoke_all(self) -> Any:
        if not self.confirming or self.revoke_busy:  # only from the confirmation step
            return
        self.revoke_busy = True
        yield
        params = {"kind": self.kind} if self.kind else {}
        try:
            done = await self._api("POST", f"{self._path()}/revoke-all", params=params)
        except api.ApiError as e:
            self.revoke_busy, self.confirming, self.error = False, False, e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        count = int((done or {}).get("revoked", 0))
        self.revoke_busy, self.confirming = False, False
        self.message = (
            f"All live {self.what} of {self.subject_email} revoked ({count}); "
            "they stop working at once."
        )
        if self.subject_id == self.user_id:
            self.message += " Your own current session was kept."
        if (r := await self._refresh()) is not None:
            yield r
