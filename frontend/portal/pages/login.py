"""Sign in."""

from __future__ import annotations

import reflex as rx

from portal import routes
from portal.components.common import error_callout, labelled
from portal.page import page
from portal.state.auth import AuthState


@page(routes.LOGIN, AuthState, on_load=AuthState.open_login)
def login_page() -> rx.Component:
    return rx.el.main(
        rx.center(
            rx.card(
                rx.form(
                    rx.vstack(
                        rx.hstack(
                            rx.icon("scan_line", size=28, aria_hidden="true"),
                            rx.heading("MedSegText", as_="h1", size="6"),
                            align="center",
                        ),
                        rx.text(
                            "Chest X-ray lesion segmentation and findings",
                            size="2",
                            color_scheme="gray",
                        ),
                        rx.cond(
                            AuthState.notice != "",
                            rx.callout(
                                AuthState.notice, icon="info", role="status", size="1", width="100%"
                            ),
                        ),
                        error_callout(
                            AuthState.login_error, size="1", width="100%", id="login-error"
                        ),
                        labelled(
                            "Email",
                            rx.input(
                                id="login-email",
                                name="email",
                                type="email",
                                auto_complete="username",
                                required=True,
                                size="3",
                            ),
                            "login-email",
                        ),
                        labelled(
                            "Password",
                            rx.input(
                                id="login-password",
                                name="password",
                                type="password",
                                auto_complete="current-password",
                                required=True,
                                size="3",
                            ),
                            "login-password",
                        ),
                        rx.button(
                            rx.cond(AuthState.login_busy, "Signing in…", "Sign in"),
                            type="submit",
                            size="3",
                            width="100%",
                            loading=AuthState.login_busy,
                            id="sign-in",
                        ),
                        spacing="3",
                        width="100%",
                    ),
                    on_submit=AuthState.login,
                    reset_on_submit=False,
                    aria_label="Sign in",
                ),
                size="4",
                width="min(420px, 92vw)",
            ),
            min_height="90vh",
        ),
        id="main",
    )
