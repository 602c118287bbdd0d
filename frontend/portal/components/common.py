"""Badges, callouts and the empty/loading/error states every page uses."""

from __future__ import annotations

from typing import Any

import reflex as rx

STATUS_COLORS = {
    "queued": "gray",
    "running": "blue",
    "done": "green",
    "failed": "red",
    "out_of_scope": "amber",
}
PRIORITY_COLORS = {"routine": "gray", "urgent": "orange", "stat": "red"}
REVIEW_COLORS = {"unreviewed": "gray", "accepted": "green", "edited": "amber", "rejected": "red"}
ROLE_COLORS = {"clinician": "cyan", "reviewer": "violet", "admin": "crimson"}


def _colored(value: Any, colors: dict[str, str], **props: Any) -> rx.Component:
    return rx.match(
        value,
        *[(key, rx.badge(key, color_scheme=color, **props)) for key, color in colors.items()],
        rx.badge(value, color_scheme="gray", **props),
    )


def status_badge(value: Any) -> rx.Component:
    return _colored(value, STATUS_COLORS, variant="soft")


def priority_badge(value: Any) -> rx.Component:
    return _colored(value, PRIORITY_COLORS, variant="outline")


def review_badge(value: Any) -> rx.Component:
    return _colored(value, REVIEW_COLORS, variant="soft")


def role_badge(value: Any) -> rx.Component:
    return _colored(value, ROLE_COLORS, variant="surface")


def error_callout(message: Any, **props: Any) -> rx.Component:
    """An alert (read out by screen readers) that shows only when message is not empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", **props),
    )


def info_callout(message: Any, **props: Any) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="info", color_scheme="green", role="status", **props),
    )


def loading(label: str = "Loading…") -> rx.Component:
    return rx.hstack(
        rx.spinner(size="2"),
        rx.text(label, color_scheme="gray"),
        role="status",
        aria_live="polite",
        align="center",
        padding_y="1em",
    )


def empty(title: str, hint: Any = "") -> rx.Component:
    return rx.box(
        rx.text(title, weight="medium"),
        rx.text(hint, color_scheme="gray", size="2"),
        padding="2em",
        text_align="center",
        border="1px dashed var(--gray-6)",
        width="100%",
        border_radius="8px",
        role="status",
    )


def labelled(
    label: str, control: rx.Component, html_for: str, hint: str = "", width: str = "100%"
) -> rx.Component:
    """A visible <label> bound to a control by id (width "auto" inside a row of filters)."""
    return rx.vstack(
        rx.el.label(label, html_for=html_for, class_name="field-label"),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        spacing="1",
        align="stretch",
        width=width,
    )


def native_select(id_: str, options: list[tuple[str, str]], **props: Any) -> rx.Component:
    """A native <select>: works with every keyboard and screen reader as it is."""
    return rx.el.select(
        *[rx.el.option(label, value=value) for value, label in options],
        id=id_,
        class_name="native-select",
        **props,
    )


def pager(
    range_text: Any, has_prev: Any, has_next: Any, on_prev: Any, on_next: Any, label: str
) -> rx.Component:
    return rx.hstack(
        rx.text(range_text, size="2", color_scheme="gray", aria_live="polite"),
        rx.spacer(),
        rx.button(
            "Previous",
            on_click=on_prev,
            disabled=~has_prev,
            variant="soft",
            aria_label=f"Previous page of {label}",
        ),
        rx.button(
            "Next",
            on_click=on_next,
            disabled=~has_next,
            variant="soft",
            aria_label=f"Next page of {label}",
        ),
        as_="nav",
        aria_label=f"{label} pages",
        width="100%",
        align="center",
        padding_top="0.75em",
    )


def token_state_or_revoke(token: Any, on_revoke: Any, aria_label: Any) -> rx.Component:
    """A session or token row's last cell: "revoked", "expired", or the button that revokes it
    (the Account page's own tokens and an admin's view of a user's)."""
    return rx.cond(
        token.revoked,
        rx.badge("revoked", color_scheme="gray"),
        rx.cond(
            token.expired,
            rx.badge("expired", color_scheme="gray"),
            rx.button(
                "Revoke",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=on_revoke,
                aria_label=aria_label,
            ),
        ),
    )
