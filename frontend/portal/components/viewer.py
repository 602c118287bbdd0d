"""The case viewer (the film and its lesion layers on a canvas) and the six-zone lung map.

Everything that changes only the display (layers, opacity, window/level, invert, zoom, pan)
runs in the browser, in assets/viewer.js: this module renders the viewer's markup and controls
with no Reflex event handlers, so no step is a server round trip. The script finds the viewer by
its class, loads the two /media links in data-film / data-mask once each, and wires the controls
by their data-act / data-layer / data-opacity / aria-keyshortcuts attributes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import reflex as rx
from reflex.vars import Var, VarData
from reflex_base.constants import Dirs
from reflex_base.utils.imports import ImportVar

from portal.state.case import CaseState
from portal.state.models import Zone

VIEWER_JS = Path(__file__).resolve().parents[2] / "assets" / "viewer.js"
# Window presets for 8-bit display films (PNG/JPEG uploads, and the API's PNG preview of a
# DICOM, already windowed by its own VOI): width and centre on the 0-255 display values, not
# Hounsfield units, which a radiograph does not have. Keys 2-5 (1 is 1:1).
PRESETS = (  # name, key, width, centre
    ("Default", "2", 256, 128),  # identity: the film as stored
    ("Lung", "3", 160, 96),  # spreads the dark lung fields over the grey scale
    ("Soft tissue", "4", 160, 160),  # mediastinum, heart and diaphragm
    ("Bone", "5", 96, 192),  # the brightest structures: ribs, clavicles, spine
)
SHORTCUTS = {  # control: (its keys, what the help line calls it)
    "fit": ("F", "fit"),
    "one": ("1", "1:1"),
    "zoom-in": ("+ =", "zoom in"),
    "zoom-out": ("-", "zoom out"),
    "reset": ("R", "reset"),
    "invert": ("I", "invert"),
    "outline": ("O", "outline"),
    "fill": ("L", "fill"),
    "wl": ("W", "window/level tool"),
    "pan": ("P", "pan tool"),
}
KEYS = {name: keys for name, (keys, _) in SHORTCUTS.items()}
HELP = (
    "Mouse: wheel zooms at the pointer, drag pans (window/level with the W/L tool), "
    "right-drag sets window/level (right = wider, down = darker), double-click fits.",
    "Keys: "
    + " · ".join(
        [f"{keys.split()[0]} {label}" for keys, label in SHORTCUTS.values()]
        + [f"{PRESETS[0][1]}–{PRESETS[-1][1]} presets"]
    )
    + ".",
)


def viewer_script() -> rx.Component:
    """The viewer's script for the app's head: a static file, so the CSP needs no inline code;
    versioned by its content, so a browser never runs a stale copy against new markup."""
    digest = hashlib.sha256(VIEWER_JS.read_bytes()).hexdigest()[:12]
    return rx.el.script(src=f"/{VIEWER_JS.name}?v={digest}", defer=True)


def media_url(src: Var) -> Var:
    """An absolute URL for a /media/<ticket> path on this portal's backend (the same origin in
    single-port mode; the backend's host when the frontend is served elsewhere)."""
    return Var(
        _js_expr=f"(({src}) ? new URL(({src}), getBackendURL(env.PING)).href : '')",
        _var_type=str,
        _var_data=VarData.merge(
            src._get_all_var_data(),
            VarData(
                imports={
                    f"$/{Dirs.STATE_PATH}": "getBackendURL",
                    "$/env.json": ImportVar(tag="env", is_default=True),
                }
            ),
        ),
    )


def tool(label: str, act: str, key: str, **attrs: object) -> rx.Component:
    return rx.button(
        label,
        type="button",
        variant="soft",
        size="1",
        data_act=act,
        aria_keyshortcuts=key,
        title=f"{label} ({key.split()[0]})",
        class_name="viewer-tool",
        **attrs,
    )


def layer_control(name: str, label: str, key: str, opacity: int) -> rx.Component:
    """A layer's on/off box (with its key) and its own opacity slider, a native range input:
    arrow keys step it at once, in the browser."""
    return rx.hstack(
        rx.el.label(
            rx.el.input(
                type="checkbox",
                default_checked=True,
                id=f"show-{name}",
                data_layer=name,
                aria_keyshortcuts=key,
            ),
            f" {label}",
            title=f"{label} ({key})",
            class_name="viewer-check",
        ),
        rx.el.label(f"{label} opacity", html_for=f"{name}-opacity", class_name="sr-only"),
        rx.el.input(
            type="range",
            min=0,
            max=100,
            step=5,
            default_value=opacity,
            id=f"{name}-opacity",
            data_opacity=name,
            class_name="range",
        ),
        rx.el.output(html_for=f"{name}-opacity", data_out=name, class_name="viewer-readout"),
        align="center",
        spacing="2",
    )


def lesion_controls() -> rx.Component:
    return rx.hstack(
        layer_control("fill", "Fill", KEYS["fill"], 30),
        layer_control("outline", "Outline", KEYS["outline"], 100),
        spacing="4",
        align="center",
        wrap="wrap",
        role="group",
        aria_label="Lesion layers",
    )


def window_controls() -> rx.Component:
    return rx.hstack(
        *[
            tool(
                name,
                "preset",
                key,
                data_ww=width,
                data_wc=centre,
                data_name=name,
                **({"data_default": ""} if name == PRESETS[0][0] else {}),
            )
            for name, key, width, centre in PRESETS
        ],
        tool("Invert", "invert", KEYS["invert"], aria_pressed="false"),
        rx.el.output(id="window-level", data_out="window", class_name="viewer-readout"),
        spacing="1",
        align="center",
        wrap="wrap",
        role="group",
        aria_label="Window and level",
    )


def view_controls() -> rx.Component:
    return rx.hstack(
        tool("Pan", "tool", KEYS["pan"], data_tool="pan", aria_pressed="true"),
        tool(
            "W/L",
            "tool",
            KEYS["wl"],
            data_tool="wl",
            aria_pressed="false",
            aria_label="Window/level tool",
        ),
        rx.icon_button(
            rx.icon("zoom_out", aria_hidden="true"),
            type="button",
            variant="soft",
            size="1",
            data_act="zoom-out",
            aria_keyshortcuts=KEYS["zoom-out"],
            aria_label="Zoom out",
            title="Zoom out (-)",
        ),
        rx.el.output(
            id="zoom-level", data_out="zoom", class_name="viewer-readout", aria_live="polite"
        ),
        rx.icon_button(
            rx.icon("zoom_in", aria_hidden="true"),
            type="button",
            variant="soft",
            size="1",
            data_act="zoom-in",
            aria_keyshortcuts=KEYS["zoom-in"],
            aria_label="Zoom in",
            title="Zoom in (+)",
        ),
        tool("Fit", "fit", KEYS["fit"]),
        tool("1:1", "one", KEYS["one"], aria_label="One to one"),
        tool("Reset", "reset", KEYS["reset"]),
        spacing="1",
        align="center",
        wrap="wrap",
        role="group",
        aria_label="View",
    )


def viewer() -> rx.Component:
    return rx.el.div(
        rx.hstack(
            rx.cond(CaseState.mask_src != "", lesion_controls()),
            window_controls(),
            view_controls(),
            spacing="4",
            align="center",
            wrap="wrap",
            role="toolbar",
            aria_label="Viewer tools",
        ),
        rx.el.div(
            rx.el.canvas(
                id="case-image",
                role="img",
                tab_index=0,
                aria_label="Chest radiograph with the lesion layers",
            ),
            rx.el.div(data_status="", role="status", class_name="viewer-status"),
            data_stage="",
            class_name="viewer-stage",
        ),
        rx.box(*[rx.text(line, size="1", color_scheme="gray") for line in HELP], id="viewer-help"),
        class_name="msv-viewer",
        id="case-viewer",
        data_film=media_url(CaseState.base_src),
        data_mask=media_url(CaseState.mask_src),
    )


def zone_cell(zone: Zone) -> rx.Component:
    """Red only where the model flags the zone; the number and the bar give the grade."""
    return rx.box(
        rx.text(zone.level, size="1", weight="medium"),
        rx.text(zone.probability, size="4", weight="bold"),
        rx.cond(
            zone.flagged,
            rx.badge("lesion", color_scheme="red", variant="solid", size="1"),
            rx.text("not flagged", size="1", color_scheme="gray"),
        ),
        rx.box(
            rx.box(width=zone.bar, height="100%", class_name="zone-bar-fill"),
            class_name="zone-bar",
            aria_hidden="true",
        ),
        role="listitem",
        aria_label=zone.label
        + ": "
        + zone.probability
        + " probability"
        + rx.cond(zone.flagged, ", lesion flagged", ", not flagged"),
        background_color=zone.shade,
        border=rx.cond(zone.flagged, "2px solid var(--red-11)", "1px solid var(--gray-6)"),
        padding="0.5em",
        border_radius="6px",
        text_align="center",
        min_height="5em",
        class_name="zone-cell",
        data_flagged=rx.cond(zone.flagged, "true", "false"),
    )


def lung_map() -> rx.Component:
    return rx.vstack(
        rx.grid(
            rx.text(
                "Patient's right",
                rx.el.br(),
                rx.el.small("(image left)"),
                size="1",
                text_align="center",
                color_scheme="gray",
            ),
            rx.text(
                "Patient's left",
                rx.el.br(),
                rx.el.small("(image right)"),
                size="1",
                text_align="center",
                color_scheme="gray",
            ),
            columns="2",
            spacing="2",
            width="100%",
            aria_hidden="true",
        ),
        rx.grid(
            rx.foreach(CaseState.zones, zone_cell),
            style={
                "gridTemplateRows": "repeat(3, auto)",
                "gridAutoFlow": "column",
                "gridTemplateColumns": "1fr 1fr",
            },
            gap="0.5em",
            width="100%",
            role="list",
            id="lung-map",
            aria_label="Lesion probability by lung zone",
        ),
        width="100%",
        spacing="1",
    )
