"""Case page: what it shows where a case has no result to show, apart from the results
themselves: queued or running, failed, out of scope (with the reviewer's override), and a film
missing from the object store."""

from __future__ import annotations

import reflex as rx

from portal.components.common import loading
from portal.state.auth import AuthState
from portal.state.case import CaseState


def out_of_scope() -> rx.Component:
    """Why the film was not analysed; a reviewer may have it analysed anyway."""
    return rx.vstack(
        rx.callout(
            rx.text("Not analysed: ", CaseState.scope_reason),
            icon="ban",
            color_scheme="amber",
            role="alert",
            id="case-out-of-scope",
        ),
        rx.cond(
            AuthState.can_review,
            rx.hstack(
                rx.input(
                    placeholder="Why this is a frontal chest film",
                    aria_label="Reason",
                    value=CaseState.override_reason,
                    on_change=CaseState.set_override_reason,
                    id="override-reason",
                    width="100%",
                ),
                rx.button("Analyse anyway", on_click=CaseState.override_scope, id="analyse-anyway"),
                width="100%",
            ),
        ),
        rx.cond(
            CaseState.override_error != "",
            rx.text(CaseState.override_error, color_scheme="red", size="2", role="alert"),
        ),
        width="100%",
    )


def pending() -> rx.Component:
    return rx.cond(
        CaseState.status == "out_of_scope",
        out_of_scope(),
        pending_or_failed(),
    )


def pending_or_failed() -> rx.Component:
    return rx.cond(
        CaseState.status == "failed",
        rx.callout(
            rx.text("The analysis failed: ", CaseState.case_error),
            icon="circle_x",
            color_scheme="red",
            role="alert",
            id="case-failed",
        ),
        rx.vstack(
            loading(
                rx.cond(
                    CaseState.status == "running", "Analysing the image…", "Waiting in the queue…"
                )
            ),
            rx.text(
                "This page updates by itself when the result is ready.",
                size="2",
                color_scheme="gray",
            ),
        ),
    )


def image_missing() -> rx.Component:
    """Instead of a broken image, and instead of the review panel: the film is gone."""
    return rx.callout(
        "The stored image of this case is missing from the object store, so it cannot be "
        "shown or reviewed. Ask an administrator to restore it from a backup, or upload the "
        "film again as a new case.",
        icon="triangle_alert",
        color_scheme="red",
        role="alert",
        id="image-missing",
    )
