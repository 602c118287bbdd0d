"""Admin: registered model versions (activate, shadow, retire: each after a confirmation step)
and their agreement."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from portal import api, fmt, routes
from portal.routes import Route
from portal.state.auth import AuthState
from portal.state.confirm import ConfirmMixin
from portal.state.dashboard import agreement_row
from portal.state.fields import field
from portal.state.models import ModelRow


def model_row(m: dict[str, Any]) -> ModelRow:
    sha = str(m.get("sha256") or "")
    return ModelRow(
        id=int(m.get("id") or 0),
        name=str(m.get("name", "")),
        version=str(m.get("version", "")),
        status=str(m.get("status", "")),
        sha256=sha,
        sha_short=sha[:12],
        source=fmt.text(m.get("onnx_path") or m.get("onnx_key")),
        created=fmt.when(m.get("created_at")),
        activated=fmt.when(m.get("activated_at")) or "—",
        reviewed_cases="—",
        shown_cases="—",
        shadow_cases="—",
        accepted_unedited="—",
        rejected="—",
        zone_cases="—",
        zone_f1="—",
        exact_match="—",
    )


def with_agreement(row: ModelRow, a: dict[str, Any]) -> ModelRow:
    g = agreement_row(a)
    row.reviewed_cases, row.shown_cases, row.shadow_cases = (
        g.reviewed_cases,
        g.shown_cases,
        g.shadow_cases,
    )
    row.accepted_unedited, row.rejected, row.zone_cases = (
        g.accepted_unedited,
        g.rejected,
        g.zone_cases,
    )
    row.zone_f1, row.exact_match = g.zone_f1, g.exact_match
    return row


MODEL_ACTIONS = {"activate": "activated", "shadow": "set to shadow", "retire": "retired"}


def model_change_words(row: ModelRow, action: str, active: ModelRow | None) -> tuple[str, str, str]:
    """Title, text and button of the confirmation for a model action."""
    name = f"{row.name} {row.version}"
    if action == "activate":
        now = (
            f" {active.name} {active.version}, active now, becomes registered (ready to "
            "roll back to)."
            if active is not None
            else ""
        )
        return (
            f"Activate {name}?",
            f"{name} analyses every new case from now on, and its findings are what "
            f"clinicians and reviewers see.{now} Cases already analysed keep their "
            "results.",
            "Activate",
        )
    if action == "retire":
        return (
            f"Retire {name}?",
            f"{name} stops running, in shadow too, and is kept only for the record: its "
            "stored results and agreement stay. Activate it again to bring it back.",
            "Retire",
        )
    return (
        f"Run {name} in shadow?",
        f"{name} runs beside the active version on every new case: its results are stored "
        "and scored against the reviewers, never shown. It costs a second analysis per "
        "case.",
        "Run in shadow",
    )


class ModelsState(ConfirmMixin, AuthState):
    route: ClassVar[Route] = routes.MODELS
    models: list[ModelRow] = field(list)
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
        self.current_page = routes.MODELS.name
        self.message = self.action_error = self.register_error = ""
        self._drop_pending()
        self.loading = True
        yield
        if (r := await self._refresh()) is not None:
            yield r

    async def _change(self, model_id: int, action: str) -> Any:
        self.action_error, self.message = "", ""
        try:
            m = await self._api("POST", f"/api/admin/models/{model_id}/{action}")
        except api.ApiError as e:
            self.action_error = e.detail
            return self._after_error(e)
        label = (
            f"{m.get('name', '')} {m.get('version', '')}".strip()
            if isinstance(m, dict)
            else str(model_id)
        )
        self.message = f"{label} {MODEL_ACTIONS[action]}."
        return await self._refresh()

    @rx.event
    def ask(self, model_id: int, action: str) -> None:
        """A model action's button: show what it will do; nothing changes until confirm()."""
        row = next((m for m in self.models if m.id == int(model_id)), None)
        if row is None or action not in MODEL_ACTIONS:
            return
        active = next((m for m in self.models if m.status == "active"), None)
        self._ask(*model_change_words(row, action, active), {"model_id": row.id, "action": action})
        self.message = self.action_error = ""

    async def _run_pending(self, pending: dict[str, Any]) -> Any:
        return await self._change(int(pending["model_id"]), str(pending["action"]))

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
