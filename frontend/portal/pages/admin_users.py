"""Admin users: the list, create, role and activity changes (confirmed), password reset, and
each user's tokens (pages/admin_tokens.py)."""

from __future__ import annotations

import reflex as rx

from portal import routes
from portal.components.common import (
    empty,
    error_callout,
    info_callout,
    labelled,
    loading,
    native_select,
    role_badge,
)
from portal.components.confirm import confirm_dialog
from portal.components.layout import page as shell
from portal.page import page
from portal.pages import admin_tokens
from portal.state.admin_users import AdminUsersState
from portal.state.auth import AuthState
from portal.state.models import UserRow

ROLE_OPTIONS = [("clinician", "Clinician"), ("reviewer", "Reviewer"), ("admin", "Admin")]


def user_row(u: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.text(u.email, weight="medium"), rx.text(u.full_name, size="1", color_scheme="gray")
        ),
        rx.table.cell(
            rx.cond(
                u.id == AuthState.user_id,
                role_badge(u.role),
                rx.el.select(
                    *[rx.el.option(label, value=value) for value, label in ROLE_OPTIONS],
                    value=u.role,
                    class_name="native-select",
                    on_change=lambda role: AdminUsersState.ask_role(u.id, role),
                    aria_label="Role of " + u.email,
                ),
            ),
        ),
        rx.table.cell(
            rx.cond(
                u.is_active,
                rx.badge("active", color_scheme="green"),
                rx.badge("deactivated", color_scheme="gray"),
            )
        ),
        rx.table.cell(u.last_login),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    u.id == AuthState.user_id,
                    rx.text("you", size="1", color_scheme="gray"),
                    rx.cond(
                        u.is_active,
                        rx.button(
                            "Deactivate…",
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            on_click=AdminUsersState.ask_active(u.id, False),
                            aria_label="Deactivate " + u.email,
                        ),
                        rx.button(
                            "Reactivate…",
                            size="1",
                            variant="soft",
                            on_click=AdminUsersState.ask_active(u.id, True),
                            aria_label="Reactivate " + u.email,
                        ),
                    ),
                ),
                rx.cond(
                    u.id != AuthState.user_id,
                    rx.button(
                        "Reset password…",
                        size="1",
                        variant="soft",
                        on_click=AdminUsersState.ask_reset(u.id, u.email),
                        aria_label="Reset the password of " + u.email,
                    ),
                ),
                admin_tokens.open_button(u),
                spacing="2",
                align="center",
                wrap="wrap",
            )
        ),
        class_name="user-row",
        data_email=u.email,
    )


def create_user_form() -> rx.Component:
    return rx.el.section(
        rx.heading("Create a user", as_="h2", size="4", id="create-user-heading"),
        rx.form(
            rx.grid(
                labelled(
                    "Email",
                    rx.input(id="new-user-email", name="email", type="email", required=True),
                    "new-user-email",
                ),
                labelled(
                    "Full name", rx.input(id="new-user-name", name="full_name"), "new-user-name"
                ),
                labelled(
                    "Role",
                    native_select("new-user-role", ROLE_OPTIONS, name="role"),
                    "new-user-role",
                ),
                labelled(
                    "Initial password",
                    rx.input(
                        id="new-user-password",
                        name="password",
                        type="password",
                        required=True,
                        auto_complete="new-password",
                    ),
                    "new-user-password",
                ),
                rx.button(
                    "Create user",
                    type="submit",
                    loading=AdminUsersState.create_busy,
                    id="create-user",
                    align_self="end",
                ),
                columns=rx.breakpoints(initial="1", md="5"),
                spacing="3",
                width="100%",
            ),
            error_callout(AdminUsersState.create_error, margin_top="0.5em", id="create-user-error"),
            on_submit=AdminUsersState.create_user,
            reset_on_submit=False,
            id="create-user-form",
            aria_labelledby="create-user-heading",
        ),
        class_name="panel",
    )


def reset_form() -> rx.Component:
    """The new password (or none, to generate one) and the confirming button."""
    return rx.form(
        rx.vstack(
            rx.alert_dialog.description(
                "Every sign-in session and personal API token of ",
                AdminUsersState.reset_email,
                " ends at once; they sign in with the new password. Leave the fields empty to "
                "generate one, shown once for you to hand over in person or by phone.",
                size="2",
            ),
            labelled(
                "New password (optional)",
                rx.input(
                    id="reset-password",
                    name="password",
                    type="password",
                    auto_complete="new-password",
                    placeholder="Generate one",
                ),
                "reset-password",
                "At least 12 characters, not their email.",
            ),
            labelled(
                "Repeat the new password",
                rx.input(
                    id="reset-password-repeat",
                    name="repeat",
                    type="password",
                    auto_complete="new-password",
                ),
                "reset-password-repeat",
            ),
            error_callout(AdminUsersState.reset_error, width="100%", id="reset-error"),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button(
                        "Cancel",
                        variant="soft",
                        color_scheme="gray",
                        type="button",
                        id="reset-cancel",
                    )
                ),
                rx.button(
                    "Reset password",
                    type="submit",
                    color_scheme="red",
                    loading=AdminUsersState.reset_busy,
                    id="reset-confirm",
                ),
                spacing="3",
                justify="end",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=AdminUsersState.reset_password,
        reset_on_submit=True,
        id="reset-form",
    )


def reset_result() -> rx.Component:
    return rx.vstack(
        rx.cond(
            AdminUsersState.reset_secret != "",
            rx.callout(
                rx.vstack(
                    rx.text(
                        "New password of ",
                        AdminUsersState.reset_email,
                        ". Copy it now: it will not be shown again.",
                        weight="bold",
                    ),
                    rx.code(AdminUsersState.reset_secret, id="reset-secret", size="4"),
                    rx.button(
                        "Copy",
                        size="1",
                        variant="soft",
                        on_click=rx.set_clipboard(AdminUsersState.reset_secret),
                        aria_label="Copy the new password",
                    ),
                    spacing="2",
                ),
                icon="key_round",
                color_scheme="amber",
                role="status",
                width="100%",
            ),
            rx.text("The password of ", AdminUsersState.reset_email, " is reset.", size="2"),
        ),
        rx.text(
            "Their sessions and personal API tokens have ended.", size="2", color_scheme="gray"
        ),
        rx.hstack(
            rx.alert_dialog.cancel(rx.button("Done", id="reset-done")), justify="end", width="100%"
        ),
        spacing="3",
        width="100%",
        id="reset-result",
    )


def reset_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(
                rx.cond(
                    AdminUsersState.reset_done,
                    "Password reset",
                    "Reset the password of " + AdminUsersState.reset_email + "?",
                )
            ),
            rx.cond(AdminUsersState.reset_done, reset_result(), reset_form()),
            id="reset-dialog",
            max_width="34em",
        ),
        open=AdminUsersState.reset_open,
        on_open_change=AdminUsersState.set_reset_open,
    )


@page(routes.USERS, AdminUsersState)
def users() -> rx.Component:
    return shell(
        "Users",
        create_user_form(),
        info_callout(AdminUsersState.message, width="100%", id="users-message"),
        error_callout(AdminUsersState.action_error, width="100%", id="users-action-error"),
        rx.form(
            rx.hstack(
                labelled(
                    "Find users",
                    rx.input(
                        id="user-search", name="q", type="search", placeholder="Email or name"
                    ),
                    "user-search",
                    width="auto",
                ),
                rx.button("Search", type="submit", variant="soft"),
                align="end",
            ),
            on_submit=AdminUsersState.search,
            role="search",
        ),
        error_callout(AdminUsersState.error, width="100%"),
        rx.cond(
            AdminUsersState.loading & (AdminUsersState.users.length() == 0),
            loading("Loading users…"),
            rx.cond(
                AdminUsersState.users.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h, scope="col")
                                for h in ("User", "Role", "Status", "Last sign-in", "Actions")
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(AdminUsersState.users, user_row)),
                    width="100%",
                    variant="surface",
                    id="users-table",
                ),
                empty("No users match."),
            ),
        ),
        admin_tokens.dialog(),
        confirm_dialog(AdminUsersState, id_="user-confirm"),
        reset_dialog(),
    )
