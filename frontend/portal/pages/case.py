"""One case: image and lesion layer, findings, lung map, results, review panel and history.
This module lays the page out; its parts are in the case_* modules beside it: case_facts,
case_results, case_review, case_history and case_status (a case without a result)."""

from __future__ import annotations

import reflex as rx

from portal import routes
from portal.components.common import (
    error_callout,
    loading,
    priority_badge,
    review_badge,
    status_badge,
)
from portal.components.intended_use import intended_use_notice
from portal.components.layout import page as shell
from portal.components.viewer import viewer
from portal.page import page
from portal.pages.case_facts import details
from portal.pages.case_history import history
from portal.pages.case_results import downloads, results
from portal.pages.case_review import review_panel
from portal.pages.case_status import image_missing, pending
from portal.state.auth import AuthState
from portal.state.case import CaseState


def sr(text: str) -> rx.Component:
    """Words for screen readers only."""
    return rx.el.span(text, class_name="sr-only")


def content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            sr("Status:"),
            status_badge(CaseState.status),
            sr("Priority:"),
            priority_badge(CaseState.priority),
            sr("Review:"),
            review_badge(CaseState.review_state),
            rx.text("Case ", CaseState.case_id, size="1", color_scheme="gray"),
            spacing="2",
            align="center",
            wrap="wrap",
            id="case-badges",
        ),
        rx.grid(
            rx.vstack(
                rx.cond(~CaseState.is_done, pending()),
                rx.cond(CaseState.image_missing, image_missing()),
                rx.cond(CaseState.base_src != "", viewer()),
                details(),
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                rx.cond(CaseState.is_done, results()),
                rx.cond(CaseState.is_done, downloads()),
                rx.cond(AuthState.can_review & ~CaseState.image_missing, review_panel()),
                history(),
                spacing="5",
                width="100%",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="6",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def body() -> rx.Component:
    return rx.cond(
        CaseState.error != "",
        rx.vstack(
            error_callout(CaseState.error, id="case-error"),
            rx.link("Back to the worklist", href="/"),
        ),
        rx.cond(CaseState.status == "", loading("Loading the case…"), content()),
    )


@page(routes.CASE, CaseState)
def case() -> rx.Component:
    return shell(
        "Case", intended_use_notice(), body(), actions=rx.link("← Worklist", href="/", size="2")
    )
