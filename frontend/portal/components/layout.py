"""The page shell: skip link, header with the role's navigation, and the main landmark."""

from __future__ import annotations

import reflex as rx

from portal import routes
from portal.components.common import loading, role_badge
from portal.routes import Route
from portal.state.auth import AuthState


def nav_link(label: str, href: str) -> rx.Component:
    return rx.link(label, href=href, class_name="nav-link", weight="medium", size="2")


def nav_item(route: Route) -> rx.Component:
    """A route's header link, shown only to a user whose permissions admit the page."""
    link = nav_link(route.nav, route.path)
    if route.permission == routes.SIGNED_IN:
        return link
    return rx.cond(AuthState.permissions.contains(route.permission), link)


def header() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.link(
                rx.hstack(
                    rx.icon("scan_line", size=20, aria_hidden="true"),
                    rx.text("MedSegText", weight="bold"),
                    align="center",
                    spacing="2",
                ),
                href="/",
                underline="none",
                aria_label="MedSegText worklist",
                color_scheme="gray",
                high_contrast=True,
            ),
            rx.el.nav(
                rx.hstack(
                    *[nav_item(r) for r in routes.ROUTES if r.nav],
                    spacing="4",
                    align="center",
                    wrap="wrap",
                ),
                aria_label="Main",
            ),
            rx.spacer(),
            rx.hstack(
                rx.text(AuthState.display_name, size="2", id="signed-in-user"),
                role_badge(AuthState.role),
                rx.button(
                    "Sign out", on_click=AuthState.logout, variant="soft", size="1", id="sign-out"
                ),
                align="center",
                spacing="2",
            ),
            align="center",
            spacing="5",
            width="100%",
            wrap="wrap",
        ),
        class_name="app-header",
    )


def page(
    title: str,
    *children: rx.Component,
    actions: rx.Component | None = None,
) -> rx.Component:
    """A signed-in page; until the session is known it shows a loading state."""
    return rx.fragment(
        rx.el.a("Skip to main content", href="#main", class_name="skip-link"),
        rx.cond(
            AuthState.signed_in,
            rx.fragment(
                header(),
                rx.el.main(
                    rx.hstack(
                        rx.heading(title, as_="h1", size="6"),
                        rx.spacer(),
                        actions or rx.fragment(),
                        align="center",
                        width="100%",
                    ),
                    *children,
                    id="main",
                    tab_index=-1,
                    class_name="app-main",
                ),
            ),
            rx.el.main(loading("Checking your session…"), id="main", class_name="app-main"),
        ),
    )
