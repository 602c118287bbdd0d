"""The confirmation step before a change that matters (a role, an account's activity, the
model that serves every case): an alert dialog that says what will happen, with the change on
one button and Cancel on the other. Escape or Cancel changes nothing.

The state keeps what is pending server-side and runs it only from its confirm handler, so the
dialog is a real step, not a decoration a stale tab could skip (portal/state/confirm.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from portal.state.confirm import ConfirmMixin


def confirm_dialog(
    state: type[ConfirmMixin], *, id_: str = "confirm-dialog", danger: Any = True
) -> rx.Component:
    """An alert dialog (role="alertdialog") bound to the confirmation step of `state`: Cancel
    and Escape call its set_confirm_open(False), which drops what is pending."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(state.confirm_title),
            rx.alert_dialog.description(state.confirm_text, size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button("Cancel", variant="soft", color_scheme="gray", id=f"{id_}-cancel")
                ),
                rx.button(
                    state.confirm_label,
                    on_click=state.confirm,
                    loading=state.confirm_busy,
                    color_scheme=rx.cond(danger, "red", "blue"),
                    id=f"{id_}-confirm",
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
            id=id_,
            max_width="32em",
        ),
        open=state.confirm_open,
        on_open_change=state.set_confirm_open,
    )
