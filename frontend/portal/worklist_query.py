"""The worklist's view as a URL, and which new cases call for an alert (pure functions).

The address names the view: a filter, sort, search or page change navigates to its URL
(e.g. ``/?status=done&priority=stat&sort=newest``), and the page's on_load reads an address
it did not pick itself back into the controls, so a reload, the back button or a shared link
shows the same view (the controls hold the tab's own latest pick: portal/state/worklist.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from portal import fmt
from portal.case_json import model_output

ALL = "all"
PAGE_SIZE = 20
# (value, label) of each filter, in the order the page offers them
STATUS = [
    (ALL, "All statuses"),
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("out_of_scope", "Not analysed"),
]
PRIORITY = [(ALL, "All priorities"), ("stat", "Stat"), ("urgent", "Urgent"), ("routine", "Routine")]
REVIEW = [
    (ALL, "All review states"),
    ("unreviewed", "Unreviewed"),
    ("accepted", "Accepted"),
    ("edited", "Edited"),
    ("rejected", "Rejected"),
]
SORT = [
    ("triage", "Triage (most urgent first)"),
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("priority", "Priority"),
]
DEFAULT_SORT = "triage"  # the API's default: triage score, then oldest first
MAX_QUERY = 200  # the API's limit on q
ALERT_PRIORITIES = {"stat": "STAT", "urgent": "Urgent"}


@dataclass(frozen=True)
class View:
    status: str = ALL
    priority: str = ALL
    review: str = ALL
    sort: str = DEFAULT_SORT
    q: str = ""
    page: int = 1

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def filtered(self) -> bool:
        return bool(self.q) or any(v != ALL for v in (self.status, self.priority, self.review))

    def url(self) -> str:
        """The worklist's address for this view; defaults are left out."""
        params = {"status": self.status, "priority": self.priority, "review": self.review}
        query = {k: v for k, v in params.items() if v != ALL}
        if self.sort != DEFAULT_SORT:
            query["sort"] = self.sort
        if self.q:
            query["q"] = self.q
        if self.page > 1:
            query["page"] = str(self.page)
        return "/?" + urlencode(query) if query else "/"

    def api_params(self) -> dict[str, Any]:
        """GET /api/cases parameters."""
        params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": self.offset, "sort": self.sort}
        for key, value in (
            ("status", self.status),
            ("priority", self.priority),
            ("review_state", self.review),
        ):
            if value != ALL:
                params[key] = value
        if self.q:
            params["q"] = self.q
        return params

    def with_(self, **changes: Any) -> View:
        """This view changed; any change but the page's goes back to page 1."""
        return replace(self, **{"page": 1, **changes})


def _choice(value: str | None, options: list[tuple[str, str]], default: str) -> str:
    return value if value in {v for v, _ in options} else default


def parse(params: Mapping[str, str]) -> View:
    """The view a worklist URL's query names; unknown or bad values fall back to defaults."""
    page = params.get("page", "")
    return View(
        status=_choice(params.get("status"), STATUS, ALL),
        priority=_choice(params.get("priority"), PRIORITY, ALL),
        review=_choice(params.get("review"), REVIEW, ALL),
        sort=_choice(params.get("sort"), SORT, DEFAULT_SORT),
        q=(params.get("q") or "").strip()[:MAX_QUERY],
        page=int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1,
    )


def alert_reason(case: Mapping[str, Any]) -> str:
    """Why a new case needs attention ("STAT · abnormal, lesion probability 87 %"), or ''
    when it does not: a STAT or urgent request, or a model that calls the film abnormal."""
    reasons = []
    if (priority := ALERT_PRIORITIES.get(str(case.get("priority")))) is not None:
        reasons.append(priority)
    output = model_output(case)
    if output.lesion_present is True:
        probability = output.lesion_probability
        reasons.append(
            "abnormal"
            if probability is None
            else f"abnormal, lesion probability {fmt.fraction(probability)}"
        )
    return " · ".join(reasons)
