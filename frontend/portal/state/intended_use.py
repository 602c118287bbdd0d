"""The intended-use notice of every results page: GET /api/intended-use, read on each mount (the
active model may change), with the decision-support sentence shown until then or if the API
cannot say."""

from __future__ import annotations

from typing import Any

import reflex as rx

from portal import api
from portal.state.auth import AuthState

DECISION_SUPPORT = "Decision support only — not a diagnosis; a clinician must review every result."


class IntendedUseState(AuthState):
    statement: str = DECISION_SUPPORT
    trained_on: str = ""
    not_trained_on: str = ""
    model_name: str = ""

    @rx.event
    async def load_intended_use(self) -> Any:
        try:
            body = await self._api("GET", "/api/intended-use")
        except api.ApiError as e:
            return self._after_error(e)  # keep what is shown; sign in again if it ended
        self.statement = str(body.get("notice") or DECISION_SUPPORT)
        self.trained_on = str(body.get("trained_on") or "")
        self.not_trained_on = str(body.get("not_trained_on") or "")
        self.model_name = str(body.get("model") or "")
        return None
