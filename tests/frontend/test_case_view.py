"""The case page's logic (frontend/portal/state/case_view.py, pure Python): what it reads from
the API's case and the review body it sends. The browser side is e2e/test_portal.py and
e2e/test_workflow.py (a reviewer correcting zone flags)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "frontend"))

from portal.fmt import ZONE_KEYS
from portal.state.case_view import (
    case_id_from_path,
    review_body,
    reviewed_findings_of,
    reviews_of,
    timings_of,
    zones_of,
)

NONE = dict.fromkeys(ZONE_KEYS, False)
RIGHT_LOWER = {**NONE, "patient_right_lower": True}


def _review(
    decision: str,
    flags: dict[str, bool],
    text: str,
    shown: str = "Model text.",
    reviewed: dict[str, bool] = NONE,
) -> dict | None:
    return review_body(
        decision, " ", text, flags, model_flags=NONE, reviewed_flags=reviewed, shown_text=shown
    )


def test_case_id_from_the_address() -> None:
    assert case_id_from_path("/cases/abc-123") == "abc-123"
    assert case_id_from_path("/cases/abc-123/") == "abc-123"
    assert case_id_from_path("/cases") == case_id_from_path("/upload/x") == ""


def test_zones_are_red_only_where_the_model_flags_them() -> None:
    zones = zones_of(
        {"patient_right_lower": 0.8, "patient_left_upper": 0.9}, {"patient_right_lower": True}
    )
    by_key = {z.key: z for z in zones}
    assert [z.key for z in zones] == list(ZONE_KEYS)
    assert by_key["patient_right_lower"].flagged and by_key["patient_right_lower"].shade == (
        "rgba(220, 38, 38, 0.66)"
    )
    assert by_key["patient_left_upper"].probability == "90 %"
    assert by_key["patient_left_upper"].shade == "var(--gray-2)"  # high, but not flagged
    assert by_key["patient_left_lower"].probability == "—"
    assert zones_of(None, None)[0].bar == "0%"


def test_timings_and_reviews() -> None:
    case = {
        "timings_ms": {"inference": 12.345, "queue": "n/a", "some_step": 1},
        "findings_text": "Model text.",
        "reviews": [
            {
                "id": 1,
                "decision": "edit",
                "findings_text": "Edited.",
                "reviewer_name": "Dr R",
                "zone_flags": RIGHT_LOWER,
            },
            {"id": 2, "decision": "accept", "reviewer_id": 7},
            "not a review",
        ],
    }
    assert [(t.name, t.ms) for t in timings_of(case)] == [
        ("Model", "12.3 ms"),
        ("Queue wait", "n/a"),
        ("Some step", "1.0 ms"),
    ]
    first, second = reviews_of(case, NONE)
    assert (first.reviewer, first.zones, first.zones_corrected) == ("Dr R", "right lower", True)
    assert (second.reviewer, second.zones, second.zones_corrected) == ("user 7", "", False)
    assert reviewed_findings_of(case) == "Edited."  # the latest edit's text
    assert reviewed_findings_of({**case, "reviewed_findings_text": None}) == ""  # the API's
    assert reviewed_findings_of({"findings_text": "Same.", "reviewed_findings_text": "Same."}) == ""


def test_review_bodies() -> None:
    assert _review("accept", RIGHT_LOWER, "") == {"decision": "accept", "comment": None}
    # reject with corrected flags sends them; with the model's flags, nothing but the decision
    assert _review("reject", RIGHT_LOWER, "")["zone_flags"] == RIGHT_LOWER
    assert "zone_flags" not in _review("reject", NONE, "")
    # edit: new text goes as text; flags touched with the text left as shown go alone
    assert _review("edit", NONE, " New text. ") == {
        "decision": "edit",
        "comment": None,
        "findings_text": "New text.",
    }
    assert _review("edit", RIGHT_LOWER, "Model text.") == {
        "decision": "edit",
        "comment": None,
        "zone_flags": RIGHT_LOWER,
    }
    # an edit with no text and untouched flags sends nothing
    assert _review("edit", NONE, "  ") is None
    assert _review("edit", RIGHT_LOWER, "  ", reviewed=RIGHT_LOWER) is None
