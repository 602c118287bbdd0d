"""Account: who you are, your password, where you are signed in, and your personal API
tokens."""

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
    token_state_or_revoke,
)
from portal.components.layout import page as shell
from portal.page import page
from portal.state.account import AccountState
from portal.state.auth import AuthState
from portal.state.models import SessionRow, TokenRow
from portal.state.token_rows import LIFETIMES


def token_row(t: TokenRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(t.name),
        rx.table.cell(rx.code(t.prefix + "…")),
        rx.table.cell(t.created),
        rx.table.cell(t.last_used),
        rx.table.cell(t.expires),
        rx.table.cell(
            token_state_or_revoke(t, AccountState.revoke(t.id), "Revoke token " + t.name)
        ),
        class_name="token-row",
        data_name=t.name,
    )


def new_secret() -> rx.Component:
    return rx.cond(
        AccountState.new_secret != "",
        rx.callout(
            rx.vstack(
                rx.text(
                    "Token “",
                    AccountState.new_secret_name,
                    "” created. Copy it now: it will not be shown again.",
                    weight="bold",
                ),
                rx.code(
                    AccountState.new_secret,
                    id="new-token-secret",
                    size="3",
                    style={"wordBreak": "break-all"},
                ),
                rx.text("Send it as the header Authorization: Bearer <token>.", size="1"),
                rx.hstack(
                    rx.button(
                        "Copy",
                        size="1",
                        on_click=rx.set_clipboard(AccountState.new_secret),
                        aria_label="Copy the new token",
                    ),
                    rx.button(
                        "I have stored it",
                        size="1",
                        variant="soft",
                        on_click=AccountState.dismiss_secret,
                    ),
                ),
                spacing="2",
            ),
            icon="key_round",
            color_scheme="amber",
            role="status",
            width="100%",
        ),
    )


def session_row(s: SessionRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(s.created),
        rx.table.cell(s.last_used),
        rx.table.cell(s.client),
        rx.table.cell(rx.text(s.user_agent, size="1", class_name="user-agent")),
        rx.table.cell(s.expires),
        rx.table.cell(
            rx.cond(
                s.current,
                rx.badge("this session", color_scheme="green"),
                rx.button(
                    "End",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=AccountState.end_session(s.id),
                    aria_label="End the session started " + s.created + " from " + s.client,
                ),
            ),
        ),
        class_name="session-row",
        data_current=rx.cond(s.current, "true", "false"),
        data_id=s.id,
    )


def sessions_section() -> rx.Component:
    return rx.el.section(
        rx.hstack(
            rx.heading("Where you are signed in", as_="h2", size="4", id="sessions-heading"),
            rx.spacer(),
            rx.button(
                "End all other sessions",
                size="2",
                variant="soft",
                color_scheme="red",
                on_click=AccountState.end_other_sessions,
                id="end-other-sessions",
                disabled=AccountState.other_sessions == 0,
            ),
            align="center",
            width="100%",
        ),
        rx.text(
            "Each sign-in is a session. End the ones you do not recognise, or that were "
            "left open on a shared workstation: they are signed out at their next step.",
            size="2",
            color_scheme="gray",
        ),
        info_callout(AccountState.sessions_message, width="100%", id="sessions-message"),
        error_callout(AccountState.sessions_error, width="100%", id="sessions-error"),
        rx.cond(
            AccountState.sessions.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h, scope="col")
                            for h in (
                                "Signed in",
                                "Last used",
                                "Client address",
                                "Browser",
                                "Expires",
                                "",
                            )
                        ]
                    )
                ),
                rx.table.body(rx.foreach(AccountState.sessions, session_row)),
                width="100%",
                variant="surface",
                id="sessions-table",
            ),
            rx.cond(AccountState.loading, loading("Loading sessions…")),
        ),
        aria_labelledby="sessions-heading",
        class_name="panel",
    )


def password_input(id_: str, name: str, autocomplete: str) -> rx.Component:
    return rx.input(
        id=id_,
        name=name,
        type="password",
        auto_complete=autocomplete,
        max_length=1024,
        width="16em",
    )


def password_section() -> rx.Component:
    return rx.el.section(
        rx.heading("Change your password", as_="h2", size="4", id="password-heading"),
        rx.text(
            "At least 12 characters, not your email address. Every other session and "
            "personal API token of yours ends; this session stays signed in.",
            size="2",
            color_scheme="gray",
        ),
        rx.form(
            rx.hstack(
                labelled(
                    "Current password",
                    password_input("current-password", "current_password", "current-password"),
                    "current-password",
                    width="auto",
                ),
                labelled(
                    "New password",
                    password_input("new-password", "new_password", "new-password"),
                    "new-password",
                    width="auto",
                ),
                labelled(
                    "Repeat the new password",
                    password_input("repeat-password", "repeat_password", "new-password"),
                    "repeat-password",
                    width="auto",
                ),
                rx.button(
                    "Change password",
                    type="submit",
                    id="change-password",
                    loading=AccountState.password_busy,
                ),
                align="end",
                wrap="wrap",
            ),
            on_submit=AccountState.change_password,
            reset_on_submit=False,
            aria_labelledby="password-heading",
            id="password-form",
        ),
        error_callout(AccountState.password_error, width="100%", id="password-error"),
        info_callout(AccountState.password_message, width="100%", id="password-message"),
        aria_labelledby="password-heading",
        class_name="panel",
    )


@page(routes.ACCOUNT, AccountState)
def account() -> rx.Component:
    return shell(
        "Account",
        rx.el.dl(
            rx.el.dt("Email"),
            rx.el.dd(AuthState.email, id="account-email"),
            rx.el.dt("Name"),
            rx.el.dd(rx.cond(AuthState.full_name != "", AuthState.full_name, "—")),
            rx.el.dt("Role"),
            rx.el.dd(AuthState.role, id="account-role"),
            class_name="facts",
        ),
        password_section(),
        sessions_section(),
        rx.el.section(
            rx.heading("Personal API tokens", as_="h2", size="4", id="tokens-heading"),
            rx.text(
                "For scripts and other systems that call the MedSegText API as you. Each "
                "token stops working when it expires or is revoked; a password change "
                "revokes them all.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.hstack(
                    labelled(
                        "Token name",
                        rx.input(
                            id="token-name",
                            name="name",
                            max_length=100,
                            placeholder="e.g. PACS bridge",
                        ),
                        "token-name",
                        width="auto",
                    ),
                    labelled(
                        "Lifetime",
                        native_select("token-lifetime", LIFETIMES, name="expires_in_days"),
                        "token-lifetime",
                        width="auto",
                    ),
                    rx.button("Create token", type="submit", id="create-token"),
                    align="end",
                    wrap="wrap",
                ),
                on_submit=AccountState.create_token,
                reset_on_submit=False,
            ),
            error_callout(AccountState.create_error, width="100%"),
            new_secret(),
            info_callout(AccountState.message, width="100%"),
            error_callout(AccountState.error, width="100%"),
            rx.cond(
                AccountState.loading & (AccountState.tokens.length() == 0),
                loading("Loading tokens…"),
                rx.cond(
                    AccountState.tokens.length() > 0,
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(h, scope="col")
                                    for h in (
                                        "Name",
                                        "Prefix",
                                        "Created",
                                        "Last used",
                                        "Expires",
                                        "",
                                    )
                                ]
                            )
                        ),
                        rx.table.body(rx.foreach(AccountState.tokens, token_row)),
                        width="100%",
                        variant="surface",
                        id="tokens-table",
                    ),
                    empty("No personal tokens.", "Create one above when a system needs it."),
                ),
            ),
            aria_labelledby="tokens-heading",
            class_name="panel",
        ),
    )
