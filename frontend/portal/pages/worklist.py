"""The worklist: cases with filters, search and paging; live while jobs run."""

from __future__ import annotations

import reflex as rx

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
from portal.state.auth import AuthState
from portal.state.models import CaseRow
from portal.state.worklist import ALL, WorklistState

STATUS = [(ALL, "All statuses"), ("queued", "Queued"), ("running", "Running"),
          ("done", "Done"), ("failed", "Failed")]
PRIORITY = [(ALL, "All priorities"), ("stat", "Stat"), ("urgent", "Urgent"),
            ("routine", "Routine")]
REVIEW = [(ALL, "All review states"), ("unreviewed", "Unreviewed"), ("accepted", "Accepted"),
          ("edited", "Edited"), ("rejected", "Rejected")]
SORT = [("triage", "Triage (most urgent first)"), ("newest", "Newest first"),
        ("oldest", "Oldest first"), ("priority", "Priority")]


def filters() -> rx.Component:
    return rx.hstack(
        rx.form(
            rx.hstack(
                labelled("Search", rx.input(id="worklist-search", name="q",
                                            placeholder="Patient ref, findings or file name",
                                            default_value=WorklistState.query,
                                            width="18em", type="search"),
                         "worklist-search", width="auto"),
                rx.button("Search", type="submit", variant="soft"),
                align="end", spacing="2",
            ),
            on_submit=WorklistState.search, role="search", width="auto",
        ),
        labelled("Status", native_select("filter-status", STATUS,
                                         value=WorklistState.status_filter,
                                         on_change=WorklistState.set_status_filter),
                 "filter-status", width="auto"),
        labelled("Priority", native_select("filter-priority", PRIORITY,
                                           value=WorklistState.priority_filter,
                                           on_change=WorklistState.set_priority_filter),
                 "filter-priority", width="auto"),
        labelled("Review", native_select("filter-review", REVIEW,
                                         value=WorklistState.review_filter,
                                         on_change=WorklistState.set_review_filter),
                 "filter-review", width="auto"),
        labelled("Sort", native_select("sort", SORT, value=WorklistState.sort,
                                       on_change=WorklistState.set_sort), "sort", width="auto"),
        rx.cond(WorklistState.filtered,
                rx.button("Clear filters", on_click=WorklistState.clear_filters,
                          variant="ghost")),
        spacing="4", align="end", wrap="wrap", width="100%",
    )


def row(c: CaseRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(status_badge(c.status)),
        rx.table.cell(priority_badge(c.priority),
                      rx.cond(c.triage != "",
                              rx.text(rx.el.span("Why: ", class_name="why"), c.triage,
                                      size="1", color_scheme="gray",
                                      class_name="triage-reason"))),
        rx.table.row_header_cell(
            rx.link(c.patient, href="/cases/" + c.id, weight="medium",
                    aria_label="Open case " + c.short_id + " (" + c.patient + ")"),
            rx.text(c.short_id + " · " + c.filename, size="1", color_scheme="gray"),
        ),
        rx.table.cell(c.age_sex),
        rx.table.cell(findings_cell(c)),
        rx.table.cell(rx.vstack(review_badge(c.review_state),
                                rx.cond(c.reviewer != "", rx.text(c.reviewer, size="1")),
                                spacing="1")),
        rx.table.cell(rx.text(c.uploaded_ago, title=c.uploaded, size="2")),
        class_name="case-row", data_status=c.status, data_case=c.id,
    )


def table() -> rx.Component:
    return rx.table.root(
        rx.el.caption("Cases you can see; most urgent first unless sorted otherwise.",
                      class_name="sr-only"),
        rx.table.header(rx.table.row(
            *[rx.table.column_header_cell(h, scope="col") for h in
              ("Status", "Priority", "Patient / case", "Age, sex", "Findings",
               "Review", "Uploaded")],
        )),
        rx.table.body(rx.foreach(WorklistState.rows, row)),
        width="100%", variant="surface", id="worklist-table",
    )


def body() -> rx.Component:
    return rx.vstack(
        filters(),
        error_callout(WorklistState.error, width="100%"),
        rx.cond(
            WorklistState.loaded,
            rx.cond(
                WorklistState.rows.length() > 0,
                rx.vstack(table(),
                          pager(WorklistState.range_text, WorklistState.has_prev,
                                WorklistState.has_next, WorklistState.prev_page,
                                WorklistState.next_page, "Worklist"),
                          width="100%", spacing="1"),
                rx.cond(WorklistState.filtered,
                        empty("No cases match these filters.", "Clear the filters to see all."),
                        empty("No cases yet.",
                              rx.cond(AuthState.can_upload,
                                      "Upload a chest X-ray from “New case”.",
                                      "Cases appear here once clinicians upload them."))),
            ),
            rx.cond(WorklistState.error == "", loading("Loading cases…")),
        ),
        rx.cond(WorklistState.live,
                rx.text("Updating live while analyses run…", size="1", color_scheme="gray",
                        role="status", id="live-indicator")),
        spacing="4", width="100%",
    )


def page() -> rx.Component:
    return shell(
        "Worklist", intended_use_notice(), body(),
        actions=rx.cond(AuthState.can_upload,
                        rx.button(rx.link(rx.icon("upload", aria_hidden="true"), "New case",
                                          href="/upload", color="inherit", underline="none",
                                          id="new-case-link"),
                                  as_child=True)),
    )
