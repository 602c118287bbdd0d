"""A reviewer's decision and the review state it leaves on the case: the one definition the
models, services, reports and API schemas share (stored as these strings in SQL). Imports
nothing but the standard library, so any layer may use it."""

from __future__ import annotations

from enum import StrEnum


class ReviewDecision(StrEnum):
    """A reviewer's verdict on the model's findings."""

    ACCEPT = "accept"  # the model's findings stand
    EDIT = "edit"  # the reviewer's text (or zone flags) replace the model's
    REJECT = "reject"  # the model's findings are wrong: do not use

    @property
    def state(self) -> ReviewState:
        """The case's review_state after this decision."""
        return _STATE_AFTER[self]


class ReviewState(StrEnum):
    """The case's latest review decision, or unreviewed."""

    UNREVIEWED = "unreviewed"
    ACCEPTED = "accepted"
    EDITED = "edited"
    REJECTED = "rejected"


_STATE_AFTER = {
    ReviewDecision.ACCEPT: ReviewState.ACCEPTED,
    ReviewDecision.EDIT: ReviewState.EDITED,
    ReviewDecision.REJECT: ReviewState.REJECTED,
}
# a reviewer signed the findings off (as they were, or edited): what reports call final and the
# dataset export trains on
SIGNED_OFF = frozenset({ReviewState.ACCEPTED, ReviewState.EDITED})
