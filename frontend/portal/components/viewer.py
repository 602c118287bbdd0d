"""The case image with its lesion layer, and the six-zone lung map."""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var, VarData
from reflex_base.constants import Dirs
from reflex_base.utils.imports import ImportVar

from portal.state.case import CaseState
from portal.state.models import Zone

LESION_RGB = "rgb(255, 48, 48)"


def media_url(src: Var) -> Var:
    """An absolute URL for a /media/<ticket> path on this portal's backend (the same origin in
    single-port mode; the backend's host when the frontend is served elsewhere)."""
    return Var(
        _js_expr=f"(({src}) ? new URL(({src}), getBackendURL(env.PING)).href : '')",
        _var_type=str,
        _var_data=VarData.merge(src._get_all_var_data(), VarData(imports={
            f"$/{Dirs.STATE_PATH}": "getBackendURL",
            "$/env.json": ImportVar(tag="env", is_default=True),
        })),
    )


def image_stack() -> rx.Component:
    mask_url = media_url(CaseState.mask_src)
    mask_css = Var(_js_expr=f"`url(${{{mask_url}}})`", _var_type=str,
                   _var_data=mask_url._get_all_var_data())
    return rx.box(
        rx.image(src=media_url(CaseState.base_src), id="case-image",
                 alt="Chest radiograph",
                 width="100%", display="block", loading="eager"),
        rx.cond(
            CaseState.show_fill,
            rx.box(id="lesion-fill", aria_hidden="true", position="absolute", inset="0",
                   background_color=LESION_RGB, opacity=CaseState.opacity_css,
                   style={"maskImage": mask_css, "WebkitMaskImage": mask_css,
                          "maskMode": "luminance", "maskSize": "100% 100%",
                          "WebkitMaskSize": "100% 100%", "maskRepeat": "no-repeat",
                          "pointerEvents": "none"}),
        ),
        rx.cond(
            CaseState.show_outline,
            rx.image(src=media_url(CaseState.overlay_src), id="lesion-overlay", alt="",
                     aria_hidden="true", position="absolute", top="0", left="0",
                     width="100%", height="100%", opacity=CaseState.opacity_css,
                     style={"pointerEvents": "none"}),
        ),
        position="relative", width=CaseState.zoom_css, min_width="120px",
    )


def layer_controls() -> rx.Component:
    return rx.hstack(
        rx.el.label(
            rx.hstack(
                rx.switch(checked=CaseState.show_overlay, on_change=CaseState.set_show_overlay,
                          id="toggle-overlay"),
                rx.text("Show lesions", size="2"),
                align="center", spacing="2",
            ),
            html_for="toggle-overlay",
        ),
        rx.vstack(
            rx.text("Lesion display", size="1", color_scheme="gray", id="style-label"),
            rx.segmented_control.root(
                rx.segmented_control.item("Fill", value="fill"),
                rx.segmented_control.item("Outline", value="outline"),
                value=CaseState.overlay_style, on_change=CaseState.set_overlay_style,
                size="1", aria_labelledby="style-label", id="overlay-style",
            ),
            spacing="1",
        ),
        rx.vstack(
            rx.el.label(rx.text("Opacity ", CaseState.overlay_opacity, " %", size="1",
                                color_scheme="gray"), html_for="overlay-opacity"),
            # a native range input: named by its <label>, arrow keys step it
            rx.el.input(type="range", min=0, max=100, step=5, value=CaseState.overlay_opacity,
                        on_change=CaseState.set_overlay_opacity, id="overlay-opacity",
                        class_name="range"),
            spacing="1",
        ),
        spacing="5", align="end", wrap="wrap",
    )


def viewer_controls() -> rx.Component:
    return rx.hstack(
        layer_controls(),
        rx.hstack(
            rx.icon_button(rx.icon("zoom_out", aria_hidden="true"), on_click=CaseState.zoom_out,
                           variant="soft", size="1", aria_label="Zoom out"),
            rx.text(CaseState.zoom_css, size="2", aria_live="polite", id="zoom-level",
                    min_width="3.5em", text_align="center"),
            rx.icon_button(rx.icon("zoom_in", aria_hidden="true"), on_click=CaseState.zoom_in,
                           variant="soft", size="1", aria_label="Zoom in"),
            align="center", spacing="1", role="group", aria_label="Zoom",
        ),
        spacing="5", align="end", wrap="wrap", padding_bottom="0.5em",
    )


def viewer() -> rx.Component:
    return rx.vstack(
        viewer_controls(),
        rx.box(
            image_stack(),
            overflow="auto", max_height="72vh", width="100%", border="1px solid var(--gray-6)",
            border_radius="6px", background_color="black", tab_index=0, role="region",
            aria_label="Chest image (scroll to pan when zoomed)", id="image-scroller",
        ),
        spacing="2", width="100%",
    )


def zone_cell(zone: Zone) -> rx.Component:
    return rx.box(
        rx.text(zone.level, size="1", weight="medium"),
        rx.text(zone.probability, size="4", weight="bold"),
        rx.cond(zone.flagged, rx.badge("lesion", color_scheme="red", variant="solid",
                                       size="1")),
        role="listitem",
        aria_label=zone.label + ": " + zone.probability + " probability"
                   + rx.cond(zone.flagged, ", lesion flagged", ""),
        background_color=zone.shade,
        border=rx.cond(zone.flagged, "2px solid var(--red-11)", "1px solid var(--gray-6)"),
        padding="0.5em", border_radius="6px", text_align="center", min_height="5em",
        class_name="zone-cell",
    )


def lung_map() -> rx.Component:
    return rx.vstack(
        rx.grid(
            rx.text("Patient's right", rx.el.br(), rx.el.small("(image left)"), size="1",
                    text_align="center", color_scheme="gray"),
            rx.text("Patient's left", rx.el.br(), rx.el.small("(image right)"), size="1",
                    text_align="center", color_scheme="gray"),
            columns="2", spacing="2", width="100%", aria_hidden="true",
        ),
        rx.grid(
            rx.foreach(CaseState.zones, zone_cell),
            style={"gridTemplateRows": "repeat(3, auto)", "gridAutoFlow": "column",
                   "gridTemplateColumns": "1fr 1fr"},
            gap="0.5em", width="100%", role="list", id="lung-map",
            aria_label="Lesion probability by lung zone",
        ),
        width="100%", spacing="1",
    )
