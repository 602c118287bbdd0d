"""Admin dashboard: statistics, model agreement, the reviewed dataset export."""

from __future__ import annotations

import reflex as rx

from portal import routes
from portal.components.common import (
    error_callout,
    info_callout,
    labelled,
    loading,
)
from portal.components.downloads import download_link
from portal.components.layout import page as shell
from portal.page import page
from portal.state.dashboard import DashboardState
from portal.state.models import AgreementRow, Stat


def stat_card(s: Stat) -> rx.Component:
    return rx.card(
        rx.text(s.label, size="2", color_scheme="gray"),
        rx.text(s.value, size="6", weight="bold"),
        rx.text(s.hint, size="1", color_scheme="gray"),
        class_name="stat-card",
    )


def count_row(s: Stat) -> rx.Component:
    return rx.table.row(rx.table.row_header_cell(s.label), rx.table.cell(s.value))


def counts(title: str, items: object, id_: str) -> rx.Component:
    return rx.vstack(
        rx.heading(title, as_="h2", size="3"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("State", scope="col"),
                    rx.table.column_header_cell("Cases", scope="col"),
                )
            ),
            rx.table.body(rx.foreach(items, count_row)),
            variant="surface",
            id=id_,
        ),
        spacing="2",
    )


AGREEMENT_HEADERS = (
    "Reviewed",
    "Shown",
    "Shadow",
    "Accepted unedited",
    "Rejected",
    "Zone cases",
    "Zone F1",
    "Exact zone match",
)


def agreement_row(a: AgreementRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(a.model),
        *[
            rx.table.cell(v)
            for v in (
                a.reviewed_cases,
                a.shown_cases,
                a.shadow_cases,
                a.accepted_unedited,
                a.rejected,
                a.zone_cases,
                a.zone_f1,
                a.exact_match,
            )
        ],
        class_name="agreement-row",
    )


def agreement_table() -> rx.Component:
    return rx.vstack(
        rx.heading("Model agreement with reviewers", as_="h2", size="3", id="agreement-heading"),
        rx.cond(
            DashboardState.agreement.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h, scope="col")
                            for h in ("Model version", *AGREEMENT_HEADERS)
                        ]
                    )
                ),
                rx.table.body(rx.foreach(DashboardState.agreement, agreement_row)),
                variant="surface",
                id="model-agreement",
                aria_labelledby="agreement-heading",
            ),
            rx.text("No reviewed cases yet.", size="2", color_scheme="gray"),
        ),
        rx.text(
            "Zone F1 compares the model's six zone flags with the reviewers' (corrected "
            "flags where given).",
            size="1",
            color_scheme="gray",
        ),
        spacing="2",
        width="100%",
    )


def export_form() -> rx.Component:
    return rx.el.section(
        rx.heading("Export reviewed cases as a data set", as_="h2", size="3", id="export-heading"),
        rx.text(
            "Accepted and edited cases (images, the model's masks, annotations.csv) as a "
            "zip in the training layout. Leave the fields empty to export everything.",
            size="2",
            color_scheme="gray",
        ),
        rx.form(
            rx.hstack(
                labelled(
                    "Uploaded from",
                    rx.input(id="export-from", name="created_from", type="date"),
                    "export-from",
                    width="auto",
                ),
                labelled(
                    "Uploaded to",
                    rx.input(id="export-to", name="created_to", type="date"),
                    "export-to",
                    width="auto",
                ),
                labelled(
                    "At most (cases)",
                    rx.input(
                        id="export-limit",
                        name="limit",
                        type="number",
                        min=1,
                        max=20000,
                        placeholder="5000",
                    ),
                    "export-limit",
                    width="auto",
                ),
                rx.button(
                    rx.icon("download", aria_hidden="true"),
                    "Export reviewed cases as dataset",
                    type="submit",
                    loading=DashboardState.export_busy,
                    id="export-dataset",
                ),
                spacing="3",
                align="end",
                wrap="wrap",
            ),
            on_submit=DashboardState.export_dataset,
            reset_on_submit=False,
            aria_labelledby="export-heading",
        ),
        error_callout(DashboardState.export_error, width="100%", id="export-error"),
        info_callout(DashboardState.export_message, width="100%", id="export-message"),
        rx.cond(
            DashboardState.export_url != "",
            download_link(
                ("Download ", DashboardState.export_name), DashboardState.export_url, "export-link"
            ),
        ),
        class_name="panel",
        aria_labelledby="export-heading",
    )


@page(routes.DASHBOARD, DashboardState)
def dashboard() -> rx.Component:
    return shell(
        "Dashboard",
        error_callout(DashboardState.error, width="100%"),
        rx.cond(
            DashboardState.cards.length() > 0,
            rx.vstack(
                rx.grid(
                    rx.foreach(DashboardState.cards, stat_card),
                    columns=rx.breakpoints(initial="2", md="3", lg="6"),
                    spacing="3",
                    width="100%",
                    id="stat-cards",
                ),
                rx.hstack(
                    counts("Cases by status", DashboardState.by_status, "by-status"),
                    counts("Cases by review state", DashboardState.by_review, "by-review"),
                    spacing="6",
                    wrap="wrap",
                    align="start",
                ),
                agreement_table(),
                spacing="5",
                width="100%",
            ),
            rx.cond(DashboardState.error == "", loading("Loading statistics…")),
        ),
        export_form(),
        actions=rx.button(
            "Refresh", on_click=DashboardState.load, variant="soft", loading=DashboardState.loading
        ),
    )
