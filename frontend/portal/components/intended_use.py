"""The intended-use notice, one component on every results page (case, worklist, upload):
decision support only, and what the active model was and was not trained on."""

from __future__ import annotations

import reflex as rx

from portal.state.intended_use import IntendedUseState


def intended_use_notice() -> rx.Component:
    s = IntendedUseState
    return rx.callout.root(
        rx.callout.icon(rx.icon("shield_alert", aria_hidden="true")),
        rx.box(
            rx.text(rx.el.strong(s.statement), size="2"),
            rx.cond(
                s.trained_on != "",
                rx.text(rx.el.strong("Trained on: "), s.trained_on, size="1", id="trained-on"),
            ),
            rx.cond(
                s.not_trained_on != "",
                rx.text(
                    rx.el.strong("Not trained on: "),
                    s.not_trained_on,
                    size="1",
                    id="not-trained-on",
                ),
            ),
            rx.cond(
                s.model_name != "", rx.text("Model: ", s.model_name, size="1", color_scheme="gray")
            ),
        ),
        color_scheme="amber",
        size="1",
        role="note",
        aria_label="Intended use",
        id="intended-use",
        class_name="intended-use",
        width="100%",
        on_mount=IntendedUseState.load_intended_use,
    )
