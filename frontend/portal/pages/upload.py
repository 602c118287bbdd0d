"""New case: drag-and-drop upload of one or more images with optional metadata."""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var

from portal import routes
from portal.components.common import error_callout, labelled, native_select, status_badge
from portal.components.intended_use import intended_use_notice
from portal.components.layout import page as shell
from portal.page import page
from portal.state.models import FileRow
from portal.state.upload import UPLOAD_ID, UploadState

SEX = [("", "Not given"), ("F", "Female"), ("M", "Male"), ("O", "Other")]
PRIORITY = [("routine", "Routine"), ("urgent", "Urgent"), ("stat", "Stat")]


def selected_sizes() -> Var:
    """The byte sizes of the files chosen in the drop zone, in order (browser side)."""
    names = rx.selected_files(UPLOAD_ID)
    return Var(
        _js_expr=f"(filesById[{UPLOAD_ID!r}] ? filesById[{UPLOAD_ID!r}].map((f) => f.size) : [])",
        _var_type=list[int],
        _var_data=names._get_all_var_data(),
    )


def drop_zone() -> rx.Component:
    return rx.upload.root(
        rx.vstack(
            rx.icon("cloud_upload", size=36, aria_hidden="true"),
            rx.text(
                "Drag chest X-rays here, or click / press Enter to choose files", weight="medium"
            ),
            rx.text(
                "PNG, JPEG or DICOM (.dcm); several files at once", size="2", color_scheme="gray"
            ),
            align="center",
            spacing="2",
        ),
        id=UPLOAD_ID,
        multiple=True,
        no_keyboard=False,
        class_name="drop-zone",
        aria_describedby="upload-help",
        drag_active_style={
            "border_color": "var(--accent-9)",
            "background_color": "var(--accent-3)",
        },
    )


def chosen_files() -> rx.Component:
    return rx.cond(
        rx.selected_files(UPLOAD_ID).length() > 0,
        rx.vstack(
            rx.heading("Chosen files", as_="h2", size="3"),
            rx.el.ul(
                rx.foreach(
                    rx.selected_files(UPLOAD_ID), lambda name: rx.el.li(rx.text(name, size="2"))
                ),
                id="chosen-files",
                class_name="plain-list",
            ),
            rx.button(
                "Remove all",
                on_click=rx.clear_selected_files(UPLOAD_ID),
                variant="ghost",
                size="1",
                type="button",
            ),
            spacing="1",
            width="100%",
        ),
    )


def metadata() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend("Case details (optional; applied to every file in this upload)"),
        rx.grid(
            labelled(
                "Patient reference",
                rx.input(id="meta-patient", name="patient_ref", max_length=64),
                "meta-patient",
            ),
            labelled(
                "Age (years)",
                rx.input(id="meta-age", name="age", type="number", min=0, max=130),
                "meta-age",
            ),
            labelled("Sex", native_select("meta-sex", SEX, name="sex"), "meta-sex"),
            labelled(
                "Acquired (UTC)",
                rx.input(id="meta-acquired", name="acquired_at", type="datetime-local"),
                "meta-acquired",
            ),
            labelled(
                "Priority",
                native_select("meta-priority", PRIORITY, name="priority"),
                "meta-priority",
            ),
            columns=rx.breakpoints(initial="1", sm="2", lg="5"),
            spacing="3",
            width="100%",
        ),
        labelled(
            "Stat reason (required for Stat)",
            rx.input(id="meta-priority-reason", name="priority_reason", max_length=500),
            "meta-priority-reason",
        ),
        labelled(
            "Clinical notes",
            rx.text_area(id="meta-notes", name="notes", max_length=2000, rows="2"),
            "meta-notes",
        ),
        class_name="fieldset",
    )


def file_row(f: FileRow) -> rx.Component:
    refused = f.phase == "refused"
    return rx.el.li(
        rx.hstack(
            rx.vstack(
                rx.text(f.name, weight="medium", size="2"),
                rx.text(f.size_text, size="1", color_scheme="gray"),
                spacing="0",
                min_width="12em",
            ),
            rx.progress(
                value=f.progress,
                max=100,
                width="12em",
                color_scheme=rx.cond(
                    refused | (f.phase == "failed"),
                    "red",
                    rx.cond(f.phase == "done", "green", "blue"),
                ),
                aria_label="Progress of " + f.name,
            ),
            rx.cond(refused, rx.badge("refused", color_scheme="red"), status_badge(f.phase)),
            rx.cond(
                refused,
                rx.text(
                    f.message, color_scheme="red", size="2", role="alert", class_name="file-error"
                ),
                rx.text(f.message, size="2", class_name="file-message"),
            ),
            rx.cond(
                f.case_id != "",
                rx.link(
                    "Open case",
                    href="/cases/" + f.case_id,
                    aria_label="Open the case for " + f.name,
                ),
            ),
            align="center",
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        class_name="file-row",
        data_phase=f.phase,
    )


def results() -> rx.Component:
    return rx.cond(
        UploadState.has_files,
        rx.vstack(
            rx.heading("This upload", as_="h2", size="3"),
            rx.el.ul(
                rx.foreach(UploadState.files, file_row),
                id="upload-results",
                class_name="plain-list",
                aria_live="polite",
            ),
            rx.hstack(
                rx.text(
                    UploadState.accepted_count,
                    " accepted, ",
                    UploadState.refused_count,
                    " refused",
                    size="2",
                    color_scheme="gray",
                ),
                rx.cond(
                    ~UploadState.busy,
                    rx.button(
                        "Start another upload", on_click=UploadState.clear, variant="soft", size="1"
                    ),
                ),
                rx.link("Go to the worklist", href="/", size="2"),
                spacing="4",
                align="center",
            ),
            spacing="2",
            width="100%",
        ),
    )


def body() -> rx.Component:
    start = lambda form: [  # noqa: E731
        UploadState.start_batch(form, rx.selected_files(UPLOAD_ID), selected_sizes()),
        UploadState.send_files(
            rx.upload_files(upload_id=UPLOAD_ID, on_upload_progress=UploadState.transfer_progress)
        ),
    ]
    return rx.form(
        rx.vstack(
            rx.text(
                "Images are checked by content, de-identified if DICOM, and analysed "
                "right away; each file becomes one case.",
                id="upload-help",
                size="2",
                color_scheme="gray",
            ),
            drop_zone(),
            chosen_files(),
            metadata(),
            error_callout(UploadState.error, width="100%"),
            rx.button(
                rx.cond(UploadState.busy, "Uploading…", "Upload and analyse"),
                type="submit",
                size="3",
                loading=UploadState.busy,
                id="upload-submit",
                disabled=(rx.selected_files(UPLOAD_ID).length() == 0) | UploadState.busy,
            ),
            results(),
            spacing="4",
            width="100%",
        ),
        on_submit=start,
        reset_on_submit=False,
        aria_label="Upload chest X-rays",
    )


@page(routes.UPLOAD, UploadState)
def upload() -> rx.Component:
    return shell("New case", intended_use_notice(), body())
