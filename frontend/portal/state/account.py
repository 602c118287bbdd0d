"""Account: the signed-in user and their personal API tokens (the secret is shown once)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from portal import api, fmt
from portal.state.auth import AuthState
from portal.state.models import TokenRow


def token_row(t: dict[str, Any]) -> TokenRow:
    return TokenRow(id=int(t.get("id") or 0), name=str(t.get("name", "")),
                    prefix=str(t.get("prefix", "")), created=fmt.when(t.get("created_at")),
                    expires=fmt.when(t.get("expires_at")) or "never",
                    last_used=fmt.when(t.get("last_used_at")) or "never",
                    revoked=t.get("revoked_at") is not None)


class AccountState(AuthState):
    tokens: list[TokenRow] = rx.field(default_factory=list)
    loading: bool = False
    error: str = ""
    create_error: str = ""
    new_secret: str = ""  # shown once, cleared when dismissed or on leaving the page
    new_secret_name: str = ""
    message: str = ""

    async def _refresh(self) -> Any:
        try:
            items = await self._api("GET", "/api/auth/tokens")
        except api.ApiError as e:
            self.loading, self.error = False, e.detail
            return self._after_error(e)
        self.tokens = [token_row(t) for t in items or [] if isinstance(t, dict)]
        self.loading, self.error = False, ""
        return None

    @rx.event
    async def load(self) -> Any:
        self.current_page = "account"
        self.new_secret = self.new_secret_name = self.message = self.create_error = ""
        self.loading = True
        yield
        if (r := await self._refresh()) is not None:
            yield r

    @rx.event
    async def create_token(self, form: dict[str, Any]) -> Any:
        name = str(form.get("name", "")).strip()
        if not name:
            self.create_error = "Give the token a name, e.g. the system that will use it."
            yield rx.set_focus("token-name")
            return
        self.create_error, self.message = "", ""
        try:
            created = await self._api("POST", "/api/auth/tokens", json={"name": name})
        except api.ApiError as e:
            self.create_error = e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.new_secret = str(created.get("token", ""))
        self.new_secret_name = name
        yield rx.set_value("token-name", "")
        if (r := await self._refresh()) is not None:
            yield r

    @rx.event
    def dismiss_secret(self) -> None:
        self.new_secret = self.new_secret_name = ""

    @rx.event
    async def revoke(self, token_id: int) -> Any:
        self.message = ""
        name = next((t.name for t in self.tokens if t.id == token_id), str(token_id))
        try:
            await self._api("DELETE", f"/api/auth/tokens/{token_id}")
        except api.ApiError as e:
            self.error = e.detail
            return self._after_error(e)
        self.message = f"Token “{name}” revoked; it stops working at once."
        return await self._refresh()
