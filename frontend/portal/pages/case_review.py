"""Case page: the review panel, the page's one form, on its own: the decision, the zone flags
a reviewer corrects, the corrected findings and the comment."""

from __future__ import annotations

import reflex as rx

from portal import fmt
from portal.components.common import error_callout, info_callout, labelled
from portal.state.case import CaseState


def flag_box(key: str) -> rx.Component:
    level = key.rpartition("_")[2]
    id_ = f"flag-{key.replace('_', '-')}"
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=CaseState.review_flags[key].to(bool),
                id=id_,
                on_change=lambda v: CaseState.set_review_flag(key, v),
            ),
            rx.text(level.capitalize(), size="2"),
            rx.el.span(f" ({fmt.zone_label(key)})", class_name="sr-only"),
            align="center",
            spacing="2",
        ),
        html_for=id_,
        class_name="flag-cell",
        data_zone=key,
    )


def zone_flag_editor() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend("Zone flags (lesion present)"),
        rx.grid(
            rx.text(
                "Patient's right",
                rx.el.br(),
                rx.el.small("(image left)"),
                size="1",
                color_scheme="gray",
                aria_hidden="true",
            ),
            rx.text(
                "Patient's left",
                rx.el.br(),
                rx.el.small("(image right)"),
                size="1",
                color_scheme="gray",
                aria_hidden="true",
            ),
            *[
                flag_box(f"patient_{side}_{level}")
                for level in ("upper", "middle", "lower")
                for side in ("right", "left")
            ],
            columns="2",
            spacing="2",
            width="100%",
            id="zone-flag-editor",
        ),
        rx.button(
            "Reset to the model's flags",
            on_click=CaseState.reset_review_flags,
            variant="ghost",
            size="1",
            type="button",
        ),
        rx.text(
            "With flags corrected and the text unchanged, the findings sentence is written "
            "from the flags.",
            size="1",
            color_scheme="gray",
        ),
        class_name="fieldset",
    )


def review_panel() -> rx.Component:
    return rx.el.section(
        rx.heading("Review", as_="h2", size="4", id="review-heading"),
        rx.cond(
            CaseState.is_done,
            rx.vstack(
                rx.el.fieldset(
                    rx.el.legend("Decision"),
                    rx.radio_group.root(
                        rx.hstack(
                            *[
                                rx.el.label(
                                    rx.hstack(
                                        rx.radio_group.item(value=value),
                                        rx.text(label, size="2"),
                                        spacing="2",
                                        align="center",
                                    )
                                )
                                for value, label in (
                                    ("accept", "Accept"),
                                    ("edit", "Edit findings"),
                                    ("reject", "Reject"),
                                )
                            ],
                            spacing="5",
                        ),
                        value=CaseState.decision,
                        on_change=CaseState.set_decision,
                        id="review-decision",
                        aria_label="Decision",
                    ),
                    class_name="fieldset",
                ),
                rx.cond(CaseState.decision != "accept", zone_flag_editor()),
                rx.cond(
                    CaseState.decision == "edit",
                    labelled(
                        "Corrected findings",
                        rx.text_area(
                            id="review-findings",
                            value=CaseState.review_findings,
                            on_change=CaseState.set_review_findings,
                            rows="3",
                            max_length=500,
                            width="100%",
                        ),
                        "review-findings",
                    ),
                ),
                labelled(
                    "Comment (optional)",
                    rx.text_area(
                        id="review-comment",
                        value=CaseState.review_comment,
                        on_change=CaseState.set_review_comment,
                        rows="2",
                        max_length=2000,
                        width="100%",
                    ),
                    "review-comment",
                ),
                error_callout(CaseState.review_error, width="100%", id="review-error"),
                info_callout(CaseState.review_done, width="100%", id="review-done"),
                rx.button(
                    "Submit review",
                    on_click=CaseState.submit_review,
                    loading=CaseState.review_busy,
                    id="submit-review",
                ),
                spacing="3",
                width="100%",
                align="start",
            ),
            rx.text(
                "The case can be reviewed once its analysis has finished.",
                size="2",
                color_scheme="gray",
            ),
        ),
        aria_labelledby="review-heading",
        class_name="panel",
    )
