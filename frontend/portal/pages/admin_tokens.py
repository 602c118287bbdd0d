"""Admin Users page: the dialog with one user's sessions and personal tokens (revoke one, or
all of the shown kind after a confirmation step)."""

from __future__ import annotations

import reflex as rx

from portal.components.common import (
    empty,
    error_callout,
    info_callout,
    loading,
    pager,
    token_state_or_revoke,
)
from portal.state.admin_tokens import AdminTokensState
from portal.state.models import TokenRow, UserRow

KIND_OPTIONS = [("", "Both"), ("session", "Sign-in sessions"), ("personal", "API tokens")]
HEADERS = ("Kind", "Name", "Created", "Last used", "Expires", "Client address", "Browser", "")


def open_button(u: UserRow) -> rx.Component:
    """The Users table's button for this user's sessions and tokens."""
    return rx.button(
        "Sessions and tokens",
        size="1",
        variant="soft",
        on_click=AdminTokensState.show(u.id, u.email),
        aria_label="Sessions and tokens of " + u.email,
    )


def token_row(t: TokenRow) -> rx.Component:
    what = rx.cond(t.kind == "session", "session", "token")
    return rx.table.row(
        rx.table.cell(
            rx.cond(
                t.kind == "session",
                rx.badge("session", color_scheme="blue"),
                rx.badge("API token", color_scheme="violet"),
            )
        ),
        rx.table.row_header_cell(rx.text(t.name), rx.code(t.prefix + "…", size="1")),
        rx.table.cell(t.created),
        rx.table.cell(t.last_used),
        rx.table.cell(t.expires),
        rx.table.cell(t.client),
        rx.table.cell(rx.text(t.user_agent, size="1", class_name="user-agent")),
        rx.table.cell(
            token_state_or_revoke(
                t,
                AdminTokensState.revoke(t.id),
                "Revoke " + what + " " + t.name + " (" + t.prefix + ")",
            )
        ),
        class_name="admin-token-row",
        data_name=t.name,
        data_kind=t.kind,
        data_prefix=t.prefix,
    )


def revoke_all_step() -> rx.Component:
    """The button, then the confirmation that names what ends."""
    return rx.cond(
        AdminTokensState.confirming,
        rx.callout(
            rx.vstack(
                rx.text(
                    "Revoke all live ",
                    AdminTokensState.what,
                    " of ",
                    AdminTokensState.subject_email,
                    "? They stop working at once; the user must sign in again and make new tokens.",
                    weight="bold",
                ),
                rx.hstack(
                    rx.button(
                        "Yes, revoke all",
                        color_scheme="red",
                        size="2",
                        on_click=AdminTokensState.revoke_all,
                        loading=AdminTokensState.revoke_busy,
                        id="confirm-revoke-all",
                    ),
                    rx.button(
                        "Cancel",
                        variant="soft",
                        size="2",
                        on_click=AdminTokensState.cancel_revoke_all,
                    ),
                ),
                spacing="2",
            ),
            icon="triangle_alert",
            color_scheme="red",
            role="alertdialog",
            aria_label="Confirm revoking all",
            width="100%",
            id="revoke-all-confirm",
        ),
        rx.button(
            "Revoke all…",
            color_scheme="red",
            variant="soft",
            size="2",
            on_click=AdminTokensState.ask_revoke_all,
            id="revoke-all",
            disabled=AdminTokensState.total == 0,
            aria_label="Revoke all "
            + AdminTokensState.what
            + " of "
            + AdminTokensState.subject_email,
        ),
    )


def filters() -> rx.Component:
    return rx.hstack(
        rx.el.label("Show", html_for="token-kind", class_name="field-label"),
        rx.el.select(
            *[rx.el.option(label, value=value) for value, label in KIND_OPTIONS],
            id="token-kind",
            class_name="native-select",
            value=AdminTokensState.kind,
            on_change=AdminTokensState.filter_kind,
        ),
        rx.checkbox(
            "Include revoked and expired",
            checked=AdminTokensState.include_ended,
            on_change=AdminTokensState.show_ended,
            id="include-ended",
        ),
        rx.spacer(),
        revoke_all_step(),
        align="center",
        spacing="3",
        width="100%",
        wrap="wrap",
    )


def dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Sessions and tokens of ", AdminTokensState.subject_email),
            rx.dialog.description(
                "Sign-in sessions and personal API tokens, newest first. Revoking one ends "
                "it at once (audited with you as actor).",
                size="2",
                color_scheme="gray",
            ),
            rx.vstack(
                filters(),
                info_callout(AdminTokensState.message, width="100%", id="admin-tokens-message"),
                error_callout(AdminTokensState.error, width="100%", id="admin-tokens-error"),
                rx.cond(
                    AdminTokensState.items.length() > 0,
                    rx.vstack(
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    *[rx.table.column_header_cell(h, scope="col") for h in HEADERS]
                                )
                            ),
                            rx.table.body(rx.foreach(AdminTokensState.items, token_row)),
                            width="100%",
                            variant="surface",
                            size="1",
                            id="admin-tokens-table",
                        ),
                        pager(
                            AdminTokensState.range_text,
                            AdminTokensState.has_prev,
                            AdminTokensState.has_next,
                            AdminTokensState.prev_page,
                            AdminTokensState.next_page,
                            "Sessions and tokens",
                        ),
                        width="100%",
                    ),
                    rx.cond(
                        AdminTokensState.loading,
                        loading("Loading…"),
                        rx.cond(
                            AdminTokensState.error == "",
                            empty(
                                "Nothing to show.",
                                "No live sessions or tokens "
                                "of this kind; tick the box to see ended ones.",
                            ),
                        ),
                    ),
                ),
                rx.hstack(
                    rx.spacer(), rx.dialog.close(rx.button("Close", variant="soft")), width="100%"
                ),
                spacing="3",
                width="100%",
                margin_top="1em",
            ),
            max_width="1100px",
            id="admin-tokens-dialog",
        ),
        open=AdminTokensState.dialog_open,
        on_open_change=AdminTokensState.set_dialog_open,
    )
