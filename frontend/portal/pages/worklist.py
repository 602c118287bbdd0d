"""The worklist: cases with filters, search and paging (kept in the URL), live by polling,
with alerts for new STAT, urgent or abnormal cases. Under 640 px the table is a card list
(assets/styles.css)."""

from __future__ import annotations

import reflex as rx

from portal import routes
from portal.components.common import (
    empty,
    error_callout,
    labelled,
    loading,
    native_select,
    pager,
    priority_badge,
    review_badge,
    status_badge,
)
from portal.components.findings import findings_cell
from portal.components.intended_use import intended_use_notice
from portal.components.layout import page as shell
from portal.page import page
from portal.state.auth import AuthState
from portal.state.models import AlertRow, CaseRow
from portal.state.worklist import WorklistState
from portal.worklist_query import PRIORITY, REVIEW, SORT, STATUS


def filters() -> rx.Component:
    return rx.hstack(
        rx.form(
            rx.hstack(
                labelled(
                    "Search",
                    rx.input(
                        id="worklist-search",
                        name="q",
                        placeholder="Patient ref, findings or file name",
                        default_value=WorklistState.query,
                        width="18em",
                        type="search",
                    ),
                    "worklist-search",
                    width="auto",
                ),
                rx.button("Search", type="submit", variant="soft"),
                align="end",
                spacing="2",
            ),
            on_submit=WorklistState.search,
            role="search",
            width="auto",
        ),
        labelled(
            "Status",
            native_select(
                "filter-status",
                STATUS,
                value=WorklistState.status_filter,
                on_change=WorklistState.set_status_filter,
            ),
            "filter-status",
            width="auto",
        ),
        labelled(
            "Priority",
            native_select(
                "filter-priority",
                PRIORITY,
                value=WorklistState.priority_filter,
                on_change=WorklistState.set_priority_filter,
            ),
            "filter-priority",
            width="auto",
        ),
        labelled(
            "Review",
            native_select(
                "filter-review",
                REVIEW,
                value=WorklistState.review_filter,
                on_change=WorklistState.set_review_filter,
            ),
            "filter-review",
            width="auto",
        ),
        labelled(
            "Sort",
            native_select("sort", SORT, value=WorklistState.sort, on_change=WorklistState.set_sort),
            "sort",
            width="auto",
        ),
        rx.cond(
            WorklistState.filtered,
            rx.button("Clear filters", on_click=WorklistState.clear_filters, variant="ghost"),
        ),
        spacing="4",
        align="end",
        wrap="wrap",
        width="100%",
    )


def thumbnail(c: CaseRow) -> rx.Component:
    """The film, small (GET /api/cases/{id}/thumbnail through a /media link); lazy, so a
    hidden or scrolled-off row costs nothing."""
    return rx.link(
        rx.el.img(
            src=c.thumb,
            alt="Film of case " + c.short_id,
            loading="lazy",
            class_name="case-thumb",
            width="56",
            height="56",
        ),
        href="/cases/" + c.id,
        tab_index=-1,
        aria_hidden="true",
    )


def row(c: CaseRow) -> rx.Component:
    """One case. The data-label of each cell names it in the phone's card layout."""
    return rx.table.row(
        rx.table.cell(thumbnail(c), class_name="cell-thumb"),
        rx.table.cell(status_badge(c.status), data_label="Status"),
        rx.table.cell(
            priority_badge(c.priority),
            rx.cond(
                c.triage != "",
                rx.text(
                    rx.el.span("Why: ", class_name="why"),
                    c.triage,
                    size="1",
                    color_scheme="gray",
                    class_name="triage-reason",
                ),
            ),
            data_label="Priority",
        ),
        rx.table.row_header_cell(
            rx.link(
                c.patient,
                href="/cases/" + c.id,
                weight="medium",
                aria_label="Open case " + c.short_id + " (" + c.patient + ")",
            ),
            rx.text(c.short_id + " · " + c.filename, size="1", color_scheme="gray"),
            class_name="cell-patient",
        ),
        rx.table.cell(c.age_sex, data_label="Age, sex"),
        rx.table.cell(findings_cell(c), data_label="Findings", class_name="cell-findings"),
        rx.table.cell(
            rx.text(c.probability, size="2", weight="medium"),
            rx.cond(c.abnormal, rx.badge("abnormal", color_scheme="red", size="1")),
            data_label="Lesion probability",
            class_name="lesion-probability",
        ),
        rx.table.cell(
            rx.vstack(
                review_badge(c.review_state),
                rx.cond(c.reviewer != "", rx.text(c.reviewer, size="1")),
                spacing="1",
            ),
            data_label="Review",
        ),
        rx.table.cell(rx.text(c.uploaded_ago, title=c.uploaded, size="2"), data_label="Uploaded"),
        class_name="case-row",
        data_status=c.status,
        data_case=c.id,
    )


def table() -> rx.Component:
    return rx.table.root(
        rx.el.caption(
            "Cases you can see; most urgent first unless sorted otherwise.", class_name="sr-only"
        ),
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(rx.el.span("Film", class_name="sr-only"), scope="col"),
                *[
                    rx.table.column_header_cell(h, scope="col")
                    for h in (
                        "Status",
                        "Priority",
                        "Patient / case",
                        "Age, sex",
                        "Findings",
                        "Lesion prob.",
                        "Review",
                        "Uploaded",
                    )
                ],
            )
        ),
        rx.table.body(rx.foreach(WorklistState.rows, row)),
        width="100%",
        variant="surface",
        id="worklist-table",
        class_name="worklist-table",
    )


def alert_item(a: AlertRow) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.badge(a.reason, color_scheme=rx.cond(a.stat, "red", "orange"), variant="solid"),
            rx.link(a.patient + " (" + a.short_id + ")", href="/cases/" + a.id, weight="medium"),
            rx.text(a.uploaded_ago, size="1", color_scheme="gray"),
            rx.spacer(),
            rx.button(
                "Dismiss",
                on_click=WorklistState.dismiss_alert(a.id),
                size="1",
                variant="ghost",
                aria_label="Dismiss the alert for case " + a.short_id,
            ),
            align="center",
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        class_name="alert-item",
        data_case=a.id,
    )


def alerts() -> rx.Component:
    """New since the worklist was opened: STAT or urgent requests, films the model calls
    abnormal. Each links to its case; dismissing one hides it until its reason changes."""
    return rx.cond(
        WorklistState.alerts.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("siren", aria_hidden="true")),
            rx.vstack(
                rx.hstack(
                    rx.text("New cases that need attention", weight="bold"),
                    rx.spacer(),
                    rx.button(
                        "Dismiss all",
                        on_click=WorklistState.dismiss_alerts,
                        size="1",
                        variant="soft",
                    ),
                    align="center",
                    width="100%",
                ),
                rx.el.ul(rx.foreach(WorklistState.alerts, alert_item), class_name="plain-list"),
                spacing="2",
                width="100%",
            ),
            color_scheme="red",
            role="alert",
            id="worklist-alerts",
            width="100%",
        ),
    )


def live_status() -> rx.Component:
    return rx.hstack(
        rx.cond(
            WorklistState.paused,
            rx.fragment(
                rx.text(
                    "Live updates paused after 30 minutes without activity.",
                    size="1",
                    color_scheme="gray",
                ),
                rx.button("Resume", on_click=WorklistState.resume, size="1", variant="soft"),
            ),
            rx.cond(
                WorklistState.live,
                rx.text(
                    "Live: new cases and status changes appear here without a reload "
                    "(checked " + WorklistState.refreshed + ").",
                    size="1",
                    color_scheme="gray",
                ),
            ),
        ),
        role="status",
        id="live-indicator",
        align="center",
        spacing="2",
    )


def body() -> rx.Component:
    return rx.vstack(
        alerts(),
        filters(),
        error_callout(WorklistState.error, width="100%"),
        rx.cond(
            WorklistState.loaded,
            rx.cond(
                WorklistState.rows.length() > 0,
                rx.vstack(
                    table(),
                    pager(
                        WorklistState.range_text,
                        WorklistState.has_prev,
                        WorklistState.has_next,
                        WorklistState.prev_page,
                        WorklistState.next_page,
                        "Worklist",
                    ),
                    width="100%",
                    spacing="1",
                ),
                rx.cond(
                    WorklistState.filtered,
                    empty("No cases match these filters.", "Clear the filters to see all."),
                    empty(
                        "No cases yet.",
                        rx.cond(
                            AuthState.can_upload,
                            "Upload a chest X-ray from “New case”.",
                            "Cases appear here once clinicians upload them.",
                        ),
                    ),
                ),
            ),
            rx.cond(WorklistState.error == "", loading("Loading cases…")),
        ),
        live_status(),
        spacing="4",
        width="100%",
    )


@page(routes.WORKLIST, WorklistState)
def worklist() -> rx.Component:
    return shell(
        "Worklist",
        intended_use_notice(),
        body(),
        actions=rx.cond(
            AuthState.can_upload,
            rx.button(
                rx.link(
                    rx.icon("upload", aria_hidden="true"),
                    "New case",
                    href="/upload",
                    color="inherit",
                    underline="none",
                    id="new-case-link",
                ),
                as_child=True,
            ),
        ),
    )
