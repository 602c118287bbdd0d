"""Admin pages: dashboard, users, audit log."""

from __future__ import annotations

import reflex as rx

from portal.components.common import (
    empty,
    error_callout,
    info_callout,
    labelled,
    loading,
    native_select,
    pager,
    role_badge,
)
from portal.components.confirm import confirm_dialog
from portal.components.downloads import download_link
from portal.components.layout import page as shell
from portal.pages import admin_tokens
from portal.state.admin_users import AdminUsersState
from portal.state.audit import AuditState
from portal.state.auth import AuthState
from portal.state.dashboard import DashboardState
from portal.state.models import AgreementRow, AuditRow, Stat, UserRow

ROLE_OPTIONS = [("clinician", "Clinician"), ("reviewer", "Reviewer"), ("admin", "Admin")]


# -- dashboard ---------------------------------------------------------------------------------

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
            rx.table.header(rx.table.row(rx.table.column_header_cell("State", scope="col"),
                                         rx.table.column_header_cell("Cases", scope="col"))),
            rx.table.body(rx.foreach(items, count_row)),  # type: ignore[arg-type]
            variant="surface", id=id_,
        ),
        spacing="2",
    )


AGREEMENT_HEADERS = ("Reviewed", "Shown", "Shadow", "Accepted unedited", "Rejected",
                     "Zone cases", "Zone F1", "Exact zone match")


def agreement_row(a: AgreementRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(a.model),
        *[rx.table.cell(v) for v in (a.reviewed_cases, a.shown_cases, a.shadow_cases,
                                     a.accepted_unedited, a.rejected, a.zone_cases, a.zone_f1,
                                     a.exact_match)],
        class_name="agreement-row",
    )


def agreement_table() -> rx.Component:
    return rx.vstack(
        rx.heading("Model agreement with reviewers", as_="h2", size="3",
                   id="agreement-heading"),
        rx.cond(
            DashboardState.agreement.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[
                    rx.table.column_header_cell(h, scope="col")
                    for h in ("Model version", *AGREEMENT_HEADERS)])),
                rx.table.body(rx.foreach(DashboardState.agreement, agreement_row)),
                variant="surface", id="model-agreement", aria_labelledby="agreement-heading",
            ),
            rx.text("No reviewed cases yet.", size="2", color_scheme="gray"),
        ),
        rx.text("Zone F1 compares the model's six zone flags with the reviewers' (corrected "
                "flags where given).", size="1", color_scheme="gray"),
        spacing="2", width="100%",
    )


def export_form() -> rx.Component:
    return rx.el.section(
        rx.heading("Export reviewed cases as a data set", as_="h2", size="3",
                   id="export-heading"),
        rx.text("Accepted and edited cases (images, the model's masks, annotations.csv) as a "
                "zip in the training layout. Leave the fields empty to export everything.",
                size="2", color_scheme="gray"),
        rx.form(
            rx.hstack(
                labelled("Uploaded from", rx.input(id="export-from", name="created_from",
                                                   type="date"), "export-from", width="auto"),
                labelled("Uploaded to", rx.input(id="export-to", name="created_to",
                                                 type="date"), "export-to", width="auto"),
                labelled("At most (cases)", rx.input(id="export-limit", name="limit",
                                                     type="number", min=1, max=20000,
                                                     placeholder="5000"),
                         "export-limit", width="auto"),
                rx.button(rx.icon("download", aria_hidden="true"),
                          "Export reviewed cases as dataset", type="submit",
                          loading=DashboardState.export_busy, id="export-dataset"),
                spacing="3", align="end", wrap="wrap",
            ),
            on_submit=DashboardState.export_dataset, reset_on_submit=False,
            aria_labelledby="export-heading",
        ),
        error_callout(DashboardState.export_error, width="100%", id="export-error"),
        info_callout(DashboardState.export_message, width="100%", id="export-message"),
        rx.cond(DashboardState.export_url != "",
                download_link(("Download ", DashboardState.export_name),
                              DashboardState.export_url, "export-link")),
        class_name="panel", aria_labelledby="export-heading",
    )


def dashboard() -> rx.Component:
    return shell(
        "Dashboard",
        error_callout(DashboardState.error, width="100%"),
        rx.cond(
            DashboardState.cards.length() > 0,
            rx.vstack(
                rx.grid(rx.foreach(DashboardState.cards, stat_card),
                        columns=rx.breakpoints(initial="2", md="3", lg="6"), spacing="3",
                        width="100%", id="stat-cards"),
                rx.hstack(counts("Cases by status", DashboardState.by_status, "by-status"),
                          counts("Cases by review state", DashboardState.by_review,
                                 "by-review"),
                          spacing="6", wrap="wrap", align="start"),
                agreement_table(),
                spacing="5", width="100%",
            ),
            rx.cond(DashboardState.error == "", loading("Loading statistics…")),
        ),
        export_form(),
        actions=rx.button("Refresh", on_click=DashboardState.load, variant="soft",
                          loading=DashboardState.loading),
    )


# -- users -------------------------------------------------------------------------------------

def user_row(u: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(u.email, weight="medium"),
                                 rx.text(u.full_name, size="1", color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                u.id == AuthState.user_id,
                role_badge(u.role),
                rx.el.select(
                    *[rx.el.option(label, value=value) for value, label in ROLE_OPTIONS],
                    value=u.role, class_name="native-select",
                    on_change=lambda role: AdminUsersState.ask_role(u.id, role),
                    aria_label="Role of " + u.email,
                ),
            ),
        ),
        rx.table.cell(rx.cond(u.is_active, rx.badge("active", color_scheme="green"),
                              rx.badge("deactivated", color_scheme="gray"))),
        rx.table.cell(u.last_login),
        rx.table.cell(rx.hstack(
            rx.cond(
                u.id == AuthState.user_id,
                rx.text("you", size="1", color_scheme="gray"),
                rx.cond(
                    u.is_active,
                    rx.button("Deactivate…", size="1", variant="soft", color_scheme="red",
                              on_click=AdminUsersState.ask_active(u.id, False),
                              aria_label="Deactivate " + u.email),
                    rx.button("Reactivate…", size="1", variant="soft",
                              on_click=AdminUsersState.ask_active(u.id, True),
                              aria_label="Reactivate " + u.email),
                ),
            ),
            rx.cond(u.id != AuthState.user_id,
                    rx.button("Reset password…", size="1", variant="soft",
                              on_click=AdminUsersState.ask_reset(u.id, u.email),
                              aria_label="Reset the password of " + u.email)),
            admin_tokens.open_button(u),
            spacing="2", align="center", wrap="wrap",
        )),
        class_name="user-row", data_email=u.email,
    )


def create_user_form() -> rx.Component:
    return rx.el.section(
        rx.heading("Create a user", as_="h2", size="4", id="create-user-heading"),
        rx.form(
            rx.grid(
                labelled("Email", rx.input(id="new-user-email", name="email", type="email",
                                           required=True), "new-user-email"),
                labelled("Full name", rx.input(id="new-user-name", name="full_name"),
                         "new-user-name"),
                labelled("Role", native_select("new-user-role", ROLE_OPTIONS, name="role"),
                         "new-user-role"),
                labelled("Initial password", rx.input(id="new-user-password", name="password",
                                                      type="password", required=True,
                                                      auto_complete="new-password"),
                         "new-user-password"),
                rx.button("Create user", type="submit", loading=AdminUsersState.create_busy,
                          id="create-user", align_self="end"),
                columns=rx.breakpoints(initial="1", md="5"), spacing="3", width="100%",
            ),
            error_callout(AdminUsersState.create_error, margin_top="0.5em",
                          id="create-user-error"),
            on_submit=AdminUsersState.create_user, reset_on_submit=False,
            id="create-user-form", aria_labelledby="create-user-heading",
        ),
        class_name="panel",
    )


def reset_form() -> rx.Component:
    """The new password (or none, to generate one) and the confirming button."""
    return rx.form(
        rx.vstack(
            rx.alert_dialog.description(
                "Every sign-in session and personal API token of ", AdminUsersState.reset_email,
                " ends at once; they sign in with the new password. Leave the fields empty to "
                "generate one, shown once for you to hand over in person or by phone.",
                size="2"),
            labelled("New password (optional)", rx.input(
                id="reset-password", name="password", type="password",
                auto_complete="new-password", placeholder="Generate one"), "reset-password",
                "At least 12 characters, not their email."),
            labelled("Repeat the new password", rx.input(
                id="reset-password-repeat", name="repeat", type="password",
                auto_complete="new-password"), "reset-password-repeat"),
            error_callout(AdminUsersState.reset_error, width="100%", id="reset-error"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 type="button", id="reset-cancel")),
                rx.button("Reset password", type="submit", color_scheme="red",
                          loading=AdminUsersState.reset_busy, id="reset-confirm"),
                spacing="3", justify="end", width="100%",
            ),
            spacing="3", width="100%",
        ),
        on_submit=AdminUsersState.reset_password, reset_on_submit=True, id="reset-form",
    )


def reset_result() -> rx.Component:
    return rx.vstack(
        rx.cond(
            AdminUsersState.reset_secret != "",
            rx.callout(
                rx.vstack(
                    rx.text("New password of ", AdminUsersState.reset_email, ". Copy it now: "
                            "it will not be shown again.", weight="bold"),
                    rx.code(AdminUsersState.reset_secret, id="reset-secret", size="4"),
                    rx.button("Copy", size="1", variant="soft", on_click=rx.set_clipboard(
                        AdminUsersState.reset_secret), aria_label="Copy the new password"),
                    spacing="2",
                ),
                icon="key_round", color_scheme="amber", role="status", width="100%",
            ),
            rx.text("The password of ", AdminUsersState.reset_email, " is reset.", size="2"),
        ),
        rx.text("Their sessions and personal API tokens have ended.", size="2",
                color_scheme="gray"),
        rx.hstack(rx.alert_dialog.cancel(rx.button("Done", id="reset-done")), justify="end",
                  width="100%"),
        spacing="3", width="100%", id="reset-result",
    )


def reset_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(rx.cond(
                AdminUsersState.reset_done, "Password reset",
                "Reset the password of " + AdminUsersState.reset_email + "?")),
            rx.cond(AdminUsersState.reset_done, reset_result(), reset_form()),
            id="reset-dialog", max_width="34em",
        ),
        open=AdminUsersState.reset_open, on_open_change=AdminUsersState.set_reset_open,
    )


def users() -> rx.Component:
    return shell(
        "Users",
        create_user_form(),
        info_callout(AdminUsersState.message, width="100%", id="users-message"),
        error_callout(AdminUsersState.action_error, width="100%", id="users-action-error"),
        rx.form(rx.hstack(labelled("Find users", rx.input(id="user-search", name="q",
                                                          type="search",
                                                          placeholder="Email or name"),
                                   "user-search", width="auto"),
                          rx.button("Search", type="submit", variant="soft"), align="end"),
                on_submit=AdminUsersState.search, role="search"),
        error_callout(AdminUsersState.error, width="100%"),
        rx.cond(
            AdminUsersState.loading & (AdminUsersState.users.length() == 0),
            loading("Loading users…"),
            rx.cond(
                AdminUsersState.users.length() > 0,
                rx.table.root(
                    rx.table.header(rx.table.row(*[
                        rx.table.column_header_cell(h, scope="col")
                        for h in ("User", "Role", "Status", "Last sign-in", "Actions")])),
                    rx.table.body(rx.foreach(AdminUsersState.users, user_row)),
                    width="100%", variant="surface", id="users-table",
                ),
                empty("No users match."),
            ),
        ),
        admin_tokens.dialog(),
        confirm_dialog(is_open=AdminUsersState.confirm_open,
                       title=AdminUsersState.confirm_title, text=AdminUsersState.confirm_text,
                       confirm_label=AdminUsersState.confirm_label,
                       on_confirm=AdminUsersState.confirm,
                       on_open_change=AdminUsersState.set_confirm_open,
                       busy=AdminUsersState.confirm_busy, id_="user-confirm"),
        reset_dialog(),
    )


# -- audit -------------------------------------------------------------------------------------

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
        id="audit-action", name="action", class_name="native-select",
        default_value=AuditState.action_filter, max_width="26em",
    )


def audit_filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            labelled("Action", action_select(), "audit-action", width="auto"),
            labelled("User email", rx.input(id="audit-user", name="user_email", type="email",
                                            list="audit-user-emails", width="18em",
                                            placeholder="someone@hospital.org"),
                     "audit-user", width="auto"),
            rx.el.datalist(rx.foreach(AuditState.user_emails,
                                      lambda e: rx.el.option(value=e)),
                           id="audit-user-emails"),
            labelled("Case id", rx.input(id="audit-case", name="case_id", width="20em"),
                     "audit-case", width="auto"),
            labelled("Since", rx.input(id="audit-since", name="since", type="date"),
                     "audit-since", width="auto"),
            labelled("Until", rx.input(id="audit-until", name="until", type="date"),
                     "audit-until", width="auto"),
            rx.button("Filter", type="submit", variant="soft"),
            align="end", wrap="wrap",
        ),
        on_submit=AuditState.filter, reset_on_submit=False, role="search",
    )


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
        rx.cond(AuditState.csv_url != "",
                download_link("Download CSV", AuditState.csv_url, "audit-csv",
                              "Every event that matches these filters, as CSV")),
        error_callout(AuditState.error, width="100%"),
        rx.cond(
            AuditState.events.length() > 0,
            rx.vstack(
                rx.table.root(
                    rx.table.header(rx.table.row(*[
                        rx.table.column_header_cell(h, scope="col")
                        for h in ("When", "Who", "Action", "Object", "Client", "Detail")])),
                    rx.table.body(rx.foreach(AuditState.events, audit_row)),
                    width="100%", variant="surface", size="1", id="audit-table",
                ),
                pager(AuditState.range_text, AuditState.has_prev, AuditState.has_next,
                      AuditState.prev_page, AuditState.next_page, "Audit log"),
                width="100%",
            ),
            rx.cond(AuditState.loading, loading("Loading events…"),
                    rx.cond(AuditState.error == "", empty("No events match."))),
        ),
    )
