"""Case page: the review history, every decision on the case with its reviewer, time, findings,
zone flags and comment, apart from the form that adds one (case_review.py)."""

from __future__ import annotations

import reflex as rx

from portal.components.common import review_badge
from portal.state.case import CaseState
from portal.state.models import ReviewRow


def review_item(r: ReviewRow) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            review_badge(
                rx.match(
                    r.decision,
                    ("accept", "accepted"),
                    ("edit", "edited"),
                    ("reject", "rejected"),
                    r.decision,
                )
            ),
            rx.text(r.reviewer, weight="medium", size="2"),
            rx.text(r.at, size="1", color_scheme="gray"),
            align="center",
            spacing="2",
        ),
        rx.cond(r.findings_text != "", rx.text("Findings: ", r.findings_text, size="2")),
        rx.cond(
            r.zones != "",
            rx.text(
                rx.cond(r.zones_corrected, "Corrected zone flags: ", "Zone flags: "),
                r.zones,
                size="2",
                class_name="history-zones",
            ),
        ),
        rx.cond(r.comment != "", rx.text("Comment: ", r.comment, size="2", color_scheme="gray")),
        class_name="history-item",
        data_decision=r.decision,
    )


def history() -> rx.Component:
    return rx.el.section(
        rx.heading("Review history", as_="h2", size="4", id="history-heading"),
        rx.cond(
            CaseState.reviews.length() > 0,
            rx.el.ol(
                rx.foreach(CaseState.reviews, review_item),
                id="review-history",
                class_name="plain-list",
            ),
            rx.text("Not reviewed yet.", size="2", color_scheme="gray", id="review-history-empty"),
        ),
        aria_labelledby="history-heading",
        class_name="panel",
    )
