"""Admin page: model versions."""

from __future__ import annotations

import reflex as rx

from portal import routes
from portal.components.common import empty, error_callout, info_callout, labelled, loading
from portal.components.confirm import confirm_dialog
from portal.components.layout import page as shell
from portal.page import page
from portal.state.admin_models import ModelsState
from portal.state.models import ModelRow

# -- models ------------------------------------------------------------------------------------

MODEL_STATUS_COLORS = {
    "active": "green",
    "shadow": "violet",
    "registered": "gray",
    "retired": "red",
}


def model_action(m: ModelRow, action: str, label: str, **props: object) -> rx.Component:
    return rx.button(
        label + "…",
        size="1",
        variant="soft",
        on_click=ModelsState.ask(m.id, action),
        aria_label=label + " " + m.name + " " + m.version,
        **props,
    )


def model_row(m: ModelRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.text(m.name, weight="medium"), rx.text(m.version, size="1", color_scheme="gray")
        ),
        rx.table.cell(
            rx.match(
                m.status,
                *[(k, rx.badge(k, color_scheme=c)) for k, c in MODEL_STATUS_COLORS.items()],
                rx.badge(m.status),
            )
        ),
        rx.table.cell(
            rx.code(m.sha_short, title=m.sha256, size="1"),
            rx.text(m.source, size="1", color_scheme="gray", class_name="audit-detail"),
        ),
        rx.table.cell(
            rx.text(m.created, size="1"),
            rx.text("active since " + m.activated, size="1", color_scheme="gray"),
        ),
        rx.table.cell(
            m.reviewed_cases,
            rx.text(
                "shown " + m.shown_cases + ", shadow " + m.shadow_cases,
                size="1",
                color_scheme="gray",
            ),
        ),
        rx.table.cell(m.accepted_unedited, class_name="accepted-share"),
        rx.table.cell(m.rejected),
        rx.table.cell(
            m.zone_f1,
            rx.text("of " + m.zone_cases + " cases", size="1", color_scheme="gray"),
            class_name="zone-f1",
        ),
        rx.table.cell(m.exact_match),
        rx.table.cell(
            rx.hstack(
                rx.cond(m.status != "active", model_action(m, "activate", "Activate")),
                rx.cond(
                    (m.status != "active") & (m.status != "shadow"),
                    model_action(m, "shadow", "Shadow"),
                ),
                rx.cond(
                    (m.status != "active") & (m.status != "retired"),
                    model_action(m, "retire", "Retire", color_scheme="red"),
                ),
                spacing="1",
                wrap="wrap",
            )
        ),
        class_name="model-row",
        data_status=m.status,
        data_model=m.name + " " + m.version,
    )


def register_form() -> rx.Component:
    return rx.el.section(
        rx.heading("Register a model version", as_="h2", size="4", id="register-heading"),
        rx.form(
            rx.hstack(
                labelled(
                    "ONNX file path on the server",
                    rx.input(
                        id="model-path",
                        name="path",
                        width="28em",
                        placeholder="/srv/models/medsegtext-segfind-1.1.0.onnx",
                    ),
                    "model-path",
                    width="auto",
                ),
                labelled(
                    "Manifest path (optional)",
                    rx.input(
                        id="model-manifest",
                        name="manifest_path",
                        width="24em",
                        placeholder="defaults to <name>.manifest.json beside it",
                    ),
                    "model-manifest",
                    width="auto",
                ),
                rx.button(
                    "Register",
                    type="submit",
                    loading=ModelsState.register_busy,
                    id="register-model",
                ),
                spacing="3",
                align="end",
                wrap="wrap",
            ),
            error_callout(ModelsState.register_error, margin_top="0.5em", id="register-error"),
            on_submit=ModelsState.register,
            reset_on_submit=False,
            id="register-model-form",
            aria_labelledby="register-heading",
        ),
        class_name="panel",
    )


@page(routes.MODELS, ModelsState)
def models() -> rx.Component:
    return shell(
        "Models",
        info_callout(ModelsState.message, width="100%", id="models-message"),
        error_callout(ModelsState.action_error, width="100%", id="models-action-error"),
        error_callout(ModelsState.error, width="100%"),
        rx.cond(
            ModelsState.models.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h, scope="col")
                                for h in (
                                    "Model",
                                    "Status",
                                    "SHA-256 / file",
                                    "Registered",
                                    "Reviewed cases",
                                    "Accepted unedited",
                                    "Rejected",
                                    "Zone F1",
                                    "Exact zone match",
                                    "Actions",
                                )
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(ModelsState.models, model_row)),
                    width="100%",
                    variant="surface",
                    size="1",
                    id="models-table",
                ),
                width="100%",
                overflow_x="auto",
            ),
            rx.cond(
                ModelsState.loading,
                loading("Loading model versions…"),
                rx.cond(ModelsState.error == "", empty("No model versions registered.")),
            ),
        ),
        rx.text(
            "Active: serves every new case. Shadow: runs beside the active version; its "
            "results are stored and scored, never shown. Agreement is measured against the "
            "reviewers' decisions and zone flags.",
            size="1",
            color_scheme="gray",
        ),
        register_form(),
        confirm_dialog(ModelsState, id_="model-confirm"),
        actions=rx.button(
            "Refresh", on_click=ModelsState.load, variant="soft", loading=ModelsState.loading
        ),
    )
