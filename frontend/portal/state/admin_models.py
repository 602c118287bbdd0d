"""Admin: registered model versions (activate, shadow, retire) and their agreement."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt
from portal.state.admin import agreement_row
from portal.state.auth import ADMINS, AuthState
from portal.state.models import ModelRow


def model_row(m: dict[str, Any]) -> ModelRow:
    sha = str(m.get("sha256") or "")
    return ModelRow(
        id=int(m.get("id") or 0), name=str(m.get("name", "")), version=str(m.get("version", "")),
        status=str(m.get("status", "")), sha256=sha, sha_short=sha[:12],
        source=fmt.text(m.get("onnx_path") or m.get("onnx_key")),
        created=fmt.when(m.get("created_at")), activated=fmt.when(m.get("activated_at")) or "—",
        reviewed_cases="—", shown_cases="—", shadow_cases="—", accepted_unedited="—",
        rejected="—", zone_cases="—", zone_f1="—", exact_match="—")


def with_agreement(row: ModelRow, a: dict[str, Any]) -> ModelRow:
    g = agreement_row(a)
    row.reviewed_cases, row.shown_cases, row.shadow_cases = (g.reviewed_cases, g.shown_cases,
                                                             g.shadow_cases)
    row.accepted_unedited, row.rejected, row.zone_cases = (g.accepted_unedited, g.rejected,
                                                           g.zone_cases)
    row.zone_f1, row.exact_match = g.zone_f1, g.exact_match
    return row


MODEL_ACTIONS = {"activate": "activated", "shadow": "set to shadow", "retire": "retired"}


class ModelsState(AuthState):
    page_roles: ClassVar[tuple[str, ...]] = ADMINS
    models: list[ModelRow] = rx.field(default_factory=list)
    loading: bool = False
    error: str = ""
    action_error: str = ""
    message: str = ""
    register_busy: bool = False
    register_error: str = ""

    async def _refresh(self) -> Any:
        self.loading = True
        try:
            items = await self._api("GET", "/api/admin/models")
        except api.ApiError as e:
            self.loading, self.error = False, e.detail
            return self._after_error(e)
        rows = [model_row(m) for m in items or [] if isinstance(m, dict)]
        for row in rows:
            try:
                a = await self._api("GET", f"/api/admin/models/{row.id}/agreement")
            except api.ApiError as e:
                if e.unauthenticated:
                    return self._after_error(e)
                continue  # shown as "—"
            if isinstance(a, dict):
                with_agreement(row, a)
        self.models = rows
        self.loading, self.error = False, ""
        return None

    @rx.event
    async def load(self) -> Any:
        self.current_page = "admin-models"
        self.message = self.action_error = self.register_error = ""
        self.loading = True
        yield
        if (r := await self._refresh()) is not None:
            yield r

    @rx.event
    async def change(self, model_id: int, action: str) -> Any:
        if action not in MODEL_ACTIONS:
            return None
        self.action_error, self.message = "", ""
        try:
            m = await self._api("POST", f"/api/admin/models/{model_id}/{action}")
        except api.ApiError as e:
            self.action_error = e.detail
            return self._after_error(e)
        label = f"{m.get('name', '')} {m.get('version', '')}".strip() if isinstance(
            m, dict) else str(model_id)
        self.message = f"{label} {MODEL_ACTIONS[action]}."
        return await self._refresh()

    @rx.event
    async def register(self, form: dict[str, Any]) -> Any:
        path = str(form.get("path", "")).strip()
        manifest = str(form.get("manifest_path", "")).strip()
        if not path:
            self.register_error = "Enter the ONNX file's path on the server."
            yield rx.set_focus("model-path")
            return
        self.register_busy, self.register_error, self.message = True, "", ""
        yield
        body: dict[str, Any] = {"path": path}
        if manifest:
            body["manifest_path"] = manifest
        try:
            m = await self._api("POST", "/api/admin/models", json=body)
        except api.ApiError as e:
            self.register_busy, self.register_error = False, e.detail
            if (r := self._after_error(e)) is not None:
                yield r
            return
        self.register_busy = False
        self.message = f"Registered {m.get('name', '')} {m.get('version', '')}."
        yield rx.call_script("document.getElementById('register-model-form')?.reset()")
        if (r := await self._refresh()) is not None:
            yield r
