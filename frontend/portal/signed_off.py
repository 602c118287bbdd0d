"""What a reader sees first of a case's findings (pure functions, no Reflex): the reviewer's
signed-off findings (accepted or edited), a rejection's "do not use", or the model's output
awaiting review. The model's own sentence keeps its own label beside them; a rejected one never
reads as findings. The case page and the worklist both use it, as the reports do the same
(backend/reports/context.py)."""

from __future__ import annotations

from typing import Any

from portal import fmt
from portal.case_json import model_output
from portal.state.models import FindingsView

AWAITING = "Model output — awaiting review"
MODEL_LABELS = {
    "accepted": "Model output",
    "edited": "Model output",
    "rejected": "Model output (rejected — do not use)",
    "unreviewed": AWAITING,
}
REJECTED_NOTE = (
    "The reviewer rejected the model's output: there are no signed-off findings for this film."
)


def _reviewer(c: dict[str, Any]) -> str:
    reviews = [r for r in c.get("reviews", []) if isinstance(r, dict)]
    name = c.get("reviewer_name") or (reviews[-1].get("reviewer_name") if reviews else None)
    return str(name or "a reviewer")


def findings_view(c: dict[str, Any]) -> FindingsView:
    """The findings section of a done case, from the API's case (detail or list item)."""
    state = str(c.get("review_state") or "unreviewed")
    state = state if state in MODEL_LABELS else "unreviewed"
    model = fmt.text(model_output(c).findings_text)
    reviewer = _reviewer(c)
    if state in ("accepted", "edited"):
        heading = f"Findings (reviewed by {reviewer})"
    elif state == "rejected":
        heading = f"Rejected by {reviewer} — do not use"
    else:
        heading = AWAITING
    reviewed = ""
    if state in ("accepted", "edited"):  # the API's text a reader should see: edit, else model's
        reviewed = fmt.text(c.get("reviewed_findings_text")) or model
    return FindingsView(
        state=state,
        heading=heading,
        reviewed=reviewed,
        model=model,
        model_label=MODEL_LABELS[state],
    )


def worklist_cell(c: dict[str, Any]) -> tuple[str, str, bool]:
    """(label, text, struck through) of the worklist's findings column: the reviewed text when
    there is one; a rejected case's model text struck through; the model's text labelled as
    awaiting review; no label while the case is not done."""
    status = str(c.get("status", ""))
    if status != "done":
        return "", fmt.summary(None, status, c.get("error"), model_output(c).scope_reason), False
    view = findings_view(c)
    if view.state == "rejected":
        return "Rejected — do not use", view.model or "—", True
    if view.reviewed:
        return f"Reviewed ({view.state})", view.reviewed, False
    return AWAITING, view.model or "—", False
