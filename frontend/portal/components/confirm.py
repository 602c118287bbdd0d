"""The confirmation step before a change that matters (a role, an account's activity, the
model that serves every case): an alert dialog that says what will happen, with the change on
one button and Cancel on the other. Escape or Cancel changes nothing.

The state keeps what is pending server-side and runs it only from its confirm handler, so the
dialog is a real step, not a decoration a stale tab could skip."""

from __future__ import annotations

from typing import Any

import reflex as rx


def confirm_dialog(*, is_open: Any, title: Any, text: Any, confirm_label: Any, on_confirm: Any,
                   on_open_change: Any, busy: Any = False, danger: Any = True,
                   id_: str = "confirm-dialog") -> rx.Component:
    """An alert dialog (role="alertdialog") bound to the state's open flag; `on_open_change`
    gets False for Cancel and Escape, and must drop what is pending."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(text, size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 id=f"{id_}-cancel")),
                rx.button(confirm_label, on_click=on_confirm, loading=busy,
                          color_scheme=rx.cond(danger, "red", "blue"), id=f"{id_}-confirm"),
                spacing="3", justify="end", margin_top="1em",
            ),
            id=id_, max_width="32em",
        ),
        open=is_open, on_open_change=on_open_change,
    )
