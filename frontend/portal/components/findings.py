"""Findings as a reader must take them (portal/signed_off.py): the signed-off text first under
"Findings (reviewed by X)", a rejection as a "do not use" alert with the model's sentence struck
through, and the model's own output always under its own label."""

from __future__ import annotations

from typing import Any

import reflex as rx

from portal.signed_off import REJECTED_NOTE
from portal.state.models import CaseRow


def _model_output(view: Any) -> rx.Component:
    """The model's sentence under its label; struck through (<del>) when rejected. No label
    when the section's heading already says it ("Model output — awaiting review")."""
    rejected = view.state == "rejected"
    return rx.box(
        rx.cond(
            view.model_label != view.heading,
            rx.text(
                view.model_label,
                size="1",
                color_scheme=rx.cond(rejected, "red", "gray"),
                weight="medium",
                id="model-output-label",
            ),
        ),
        rx.blockquote(
            rx.cond(rejected, rx.el.del_(view.model), view.model),
            id="findings-text",
            size=rx.cond(view.state == "unreviewed", "3", "2"),
            color_scheme="gray",
            class_name=rx.cond(rejected, "rejected-text", ""),
        ),
        width="100%",
    )


def findings_section(view: Any) -> rx.Component:
    """The case page's findings; `view` is the state's FindingsView var."""
    return rx.vstack(
        rx.heading(
            view.heading,
            as_="h2",
            size="4",
            id="findings-heading",
            color_scheme=rx.cond(view.state == "rejected", "red", "gray"),
            high_contrast=view.state != "rejected",
        ),
        rx.cond(
            view.reviewed != "",
            rx.blockquote(view.reviewed, id="reviewed-findings", size="3", color_scheme="green"),
        ),
        rx.cond(
            view.state == "rejected",
            rx.callout(
                rx.text(rx.el.strong("Do not use."), " ", REJECTED_NOTE),
                icon="ban",
                color_scheme="red",
                role="alert",
                id="findings-rejected",
                width="100%",
            ),
        ),
        _model_output(view),
        spacing="2",
        width="100%",
        data_review_state=view.state,
    )


def findings_cell(c: CaseRow) -> rx.Component:
    """The worklist's findings column: what the text is, then the text."""
    return rx.vstack(
        rx.cond(
            c.findings_label != "",
            rx.text(
                c.findings_label,
                size="1",
                weight="medium",
                color_scheme=rx.cond(c.findings_struck, "red", "gray"),
                class_name="findings-label",
            ),
        ),
        rx.text(
            rx.cond(c.findings_struck, rx.el.del_(c.summary), c.summary),
            size="2",
            class_name=rx.cond(
                c.findings_struck, "findings-summary rejected-text", "findings-summary"
            ),
        ),
        spacing="0",
    )
