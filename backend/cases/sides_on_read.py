"""Stored predictions from before the patient's side, converted when they are read.

Cases and reviews written before issue 13 keyed zones by the image's side ("left_upper": the
image's left) and named image sides in their sentences. Every read of a row passes through
`upgrade_case` / `upgrade_review` (SQLAlchemy "load" events), so the API, reports, portal,
agreement and export all see patient-side keys and words; the old film is read as a
standard-display film. The values are set as committed state: reading never writes the row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm.attributes import set_committed_value

from backend.cases.models import Case
from backend.reviews.models import Review
from inference import sides


def upgrade_case(case: Case, *_: Any) -> None:
    if not sides.is_image_side(case.zone_flags):
        return
    flags = sides.stored_to_patient(case.zone_flags) or {}
    set_committed_value(case, "zone_flags", flags)
    set_committed_value(
        case, "zone_probabilities", sides.stored_to_patient(case.zone_probabilities)
    )
    set_committed_value(case, "findings_text", sides.old_text_to_patient(case.findings_text))
    if case.laterality in ("unilateral", "bilateral", "none"):
        set_committed_value(case, "laterality", sides.laterality(flags))


def upgrade_review(review: Review, *_: Any) -> None:
    if not sides.is_image_side(review.zone_flags):
        return
    set_committed_value(review, "zone_flags", sides.stored_to_patient(review.zone_flags))
    set_committed_value(review, "findings_text", sides.old_text_to_patient(review.findings_text))


def install() -> None:
    """Idempotent: listen once for each model's loads and refreshes."""
    for model, fn in ((Case, upgrade_case), (Review, upgrade_review)):
        for name in ("load", "refresh"):
            if not event.contains(model, name, fn):
                event.listen(model, name, fn)


install()
