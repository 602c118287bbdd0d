"""What the case page shows, read from the API's case (GET /api/cases/{id}), and the review it
sends: pure functions (no Reflex), so state/case.py keeps only the page's state and events and
this logic is tested on its own (tests/frontend)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal import fmt
from portal.state.models import ReviewRow, Timing, Zone

DECISION_STATES = {"accept": "accepted", "edit": "edited", "reject": "rejected"}
TIMING_LABELS = {
    "decode": "Decode",
    "preprocess": "Preprocess",
    "inference": "Model",
    "model": "Model",
    "postprocess": "Post-process",
    "overlay": "Overlay",
    "render": "Render",
    "total": "Total",
    "queue": "Queue wait",
}
NOTHING_EDITED = (
    "Write the corrected findings or correct the zone flags, or choose another decision."
)


def zone_shade(p: float | None, flagged: bool) -> str:
    """A tile's colour follows the model's decision: red only for a flagged zone (deeper as the
    probability rises), a neutral grey for the others, however high their probability; the
    number and the bar under it give the grade."""
    if p is None or not flagged:
        return "var(--gray-2)"
    return f"rgba(220, 38, 38, {0.30 + 0.45 * p:.2f})"


def zones_of(probabilities: Any, flags: Any) -> list[Zone]:
    probs = probabilities if isinstance(probabilities, dict) else {}
    flagged = flags if isinstance(flags, dict) else {}
    out = []
    for key in fmt.ZONE_KEYS:
        p = probs.get(key)
        p = float(p) if isinstance(p, int | float) and not isinstance(p, bool) else None
        is_flagged = bool(flagged.get(key, False))
        out.append(
            Zone(
                key=key,
                label=fmt.zone_label(key),
                level=key.rpartition("_")[2].capitalize(),
                probability="—" if p is None else f"{p * 100:.0f} %",
                flagged=is_flagged,
                shade=zone_shade(p, is_flagged),
                bar="0%" if p is None else f"{p * 100:.0f}%",
            )
        )
    return out


def case_id_from_path(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) >= 2 and parts[0] == "cases" else ""


def timings_of(c: Mapping[str, Any]) -> list[Timing]:
    timings = c.get("timings_ms") if isinstance(c.get("timings_ms"), dict) else {}
    return [
        Timing(
            TIMING_LABELS.get(k, k.replace("_", " ").capitalize()),
            f"{v:.1f} ms" if isinstance(v, int | float) else str(v),
        )
        for k, v in (timings or {}).items()
    ]


def _reviews(c: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in c.get("reviews", []) if isinstance(r, dict)]


def reviews_of(c: Mapping[str, Any], model_flags: dict[str, bool]) -> list[ReviewRow]:
    """The case's reviews, oldest first; `zones_corrected` when a review's flags differ from
    the model's."""
    return [
        ReviewRow(
            id=int(r.get("id") or 0),
            decision=str(r.get("decision", "")),
            reviewer=str(r.get("reviewer_name") or f"user {r.get('reviewer_id')}"),
            findings_text=fmt.text(r.get("findings_text")),
            comment=fmt.text(r.get("comment")),
            at=fmt.when(r.get("created_at")),
            zones=fmt.flagged_zones(fmt.zone_flags(r.get("zone_flags"))),
            zones_corrected=fmt.zone_flags(r.get("zone_flags")) not in (None, model_flags),
        )
        for r in _reviews(c)
    ]


def reviewed_findings_of(c: Mapping[str, Any]) -> str:
    """The reviewers' findings where they differ from the model's: the API's
    reviewed_findings_text, else the latest edit's."""
    edits = [r for r in _reviews(c) if r.get("decision") == "edit" and r.get("findings_text")]
    reviewed = (
        c.get("reviewed_findings_text")
        if "reviewed_findings_text" in c
        else (edits[-1]["findings_text"] if edits else None)
    )
    return str(reviewed) if reviewed and reviewed != c.get("findings_text") else ""


def review_body(
    decision: str,
    comment: str,
    text: str,
    review_flags: Mapping[str, bool],
    *,
    model_flags: Mapping[str, bool],
    reviewed_flags: Mapping[str, bool],
    shown_text: str,
) -> dict[str, Any] | None:
    """The body of POST /api/cases/{id}/review for what the review form holds, or None for an
    edit that changes nothing to send (no text, flags untouched): NOTHING_EDITED says why.

    The zone flags go with edit or reject when they differ from the model's; an edit whose
    flags were touched in the form (they differ from `reviewed_flags`, the flags shown) and
    whose text was not sends the flags alone, and the server writes the sentence from them."""
    body: dict[str, Any] = {"decision": decision, "comment": comment.strip() or None}
    flags = {k: bool(review_flags.get(k, False)) for k in fmt.ZONE_KEYS}
    if decision in ("edit", "reject") and flags != model_flags:
        body["zone_flags"] = flags  # a correction of the model's flags
    if decision == "edit":
        typed = text.strip()
        if flags != reviewed_flags and typed == shown_text.strip():
            body["zone_flags"] = flags
        elif not typed:
            return None
        else:
            body["findings_text"] = typed
    return body
