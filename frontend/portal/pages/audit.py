"""Admin audit log: filters, the events, their CSV."""

from __future__ import annotations

import reflex as rx

from portal import routes
from portal.components.common import (
    empty,
    error_callout,
    labelled,
    loading,
    pager,
)
from portal.components.downloads import download_link
from portal.components.layout import page as shell
from portal.page import page
from portal.state.audit import AuditState
from portal.state.models import AuditRow


def audit_row(e: AuditRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(e.at, size="1")),
        rx.table.cell(e.user),
        rx.table.row_header_cell(rx.code(e.action)),
        rx.table.cell(rx.text(e.target, size="1")),
        rx.table.cell(e.client),
        rx.table.cell(rx.text(e.detail, size="1", class_name="audit-detail")),
        class_name="audit-row",
    )


def action_select() -> rx.Component:
    """The known actions, from the API (GET /api/admin/audit/actions), each with its meaning."""
    return rx.el.select(
        rx.el.option("Any action", value=""),
        rx.foreach(AuditState.actions, lambda a: rx.el.option(a.label, value=a.name)),
        id="audit-action",
        name="action",
        class_name="native-select",
        default_value=AuditState.action_filter,
        max_width="26em",
    )


def audit_filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            labelled("Action", action_select(), "audit-action", width="auto"),
            labelled(
                "User email",
                rx.input(
                    id="audit-user",
                    name="user_email",
                    type="email",
                    list="audit-user-emails",
                    width="18em",
                    placeholder="someone@hospital.org",
                ),
                "audit-user",
                width="auto",
            ),
            rx.el.datalist(
                rx.foreach(AuditState.user_emails, lambda e: rx.el.option(value=e)),
                id="audit-user-emails",
            ),
            labelled(
                "Case id",
                rx.input(id="audit-case", name="case_id", width="20em"),
                "audit-case",
                width="auto",
            ),
            labelled(
                "Since",
                rx.input(id="audit-since", name="since", type="date"),
                "audit-since",
                width="auto",
            ),
            labelled(
                "Until",
                rx.input(id="audit-until", name="until", type="date"),
                "audit-until",
                width="auto",
            ),
            rx.button("Filter", type="submit", variant="soft"),
            align="end",
            wrap="wrap",
        ),
        on_submit=AuditState.filter,
        reset_on_submit=False,
        role="search",
    )


@page(routes.AUDIT, AuditState)
def audit() -> rx.Component:
    return shell(
        "Audit log",
        audit_filters(),
        error_callout(AuditState.filter_error, width="100%", id="audit-filter-error"),
        rx.cond(AuditState.filter_error == "", audit_results()),
    )


def audit_results() -> rx.Component:
    """The events of the filters last applied (hidden while the filters are refused)."""
    return rx.fragment(
        rx.cond(
            AuditState.csv_url != "",
            download_link(
                "Download CSV",
                AuditState.csv_url,
                "audit-csv",
                "Every event that matches these filters, as CSV",
            ),
        ),
        error_callout(AuditState.error, width="100%"),
        rx.cond(
            AuditState.events.length() > 0,
            rx.vstack(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h, scope="col")
                                for h in ("When", "Who", "Action", "Object", "Client", "Detail")
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(AuditState.events, audit_row)),
                    width="100%",
                    variant="surface",
                    size="1",
                    id="audit-table",
                ),
                pager(
                    AuditState.range_text,
                    AuditState.has_prev,
                    AuditState.has_next,
                    AuditState.prev_page,
                    AuditState.next_page,
                    "Audit log",
                ),
                width="100%",
            ),
            rx.cond(
                AuditState.loading,
                loading("Loading events…"),
                rx.cond(AuditState.error == "", empty("No events match.")),
            ),
        ),
    )
