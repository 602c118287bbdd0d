"""One case: image and lesion layer, findings, lung map, results, review panel and history."""

from __future__ import annotations

import reflex as rx

from portal import fmt, routes
from portal.components.common import (
    error_callout,
    info_callout,
    labelled,
    loading,
    priority_badge,
    review_badge,
    status_badge,
)
from portal.components.downloads import download_link
from portal.components.findings import findings_section
from portal.components.intended_use import intended_use_notice
from portal.components.layout import page as shell
from portal.components.viewer import lung_map, viewer
from portal.page import page
from portal.state.auth import AuthState
from portal.state.case import CaseState
from portal.state.models import ReviewRow, Timing


def sr(text: str) -> rx.Component:
    """Words for screen readers only."""
    return rx.el.span(text, class_name="sr-only")


def fact(label: str, value: object) -> rx.Component:
    return rx.fragment(rx.el.dt(label), rx.el.dd(value))


def details() -> rx.Component:
    return rx.el.dl(
        fact(
            "Triage",
            rx.cond(
                CaseState.triage_reason != "",
                rx.el.span(CaseState.triage_reason, id="triage-reason"),
                "—",
            ),
        ),
        fact(
            "Triage score",
            rx.cond(
                CaseState.triage_score != "",
                rx.el.span(CaseState.triage_score, id="triage-score"),
                "—",
            ),
        ),
        fact("Patient", rx.cond(CaseState.patient_ref != "", CaseState.patient_ref, "—")),
        fact("Age, sex", rx.cond(CaseState.age_sex != "", CaseState.age_sex, "—")),
        fact("Acquired", rx.cond(CaseState.acquired != "", CaseState.acquired, "—")),
        fact("Uploaded", CaseState.uploaded),
        fact("File", CaseState.filename + " (" + CaseState.source_format + ")"),
        fact("Size", rx.cond(CaseState.dimensions != "", CaseState.dimensions, "—")),
        rx.cond(CaseState.notes != "", fact("Notes", CaseState.notes)),
        class_name="facts",
    )


def timing(t: Timing) -> rx.Component:
    return fact(t.name, t.ms)


def results() -> rx.Component:
    return rx.vstack(
        findings_section(CaseState.findings_view),
        rx.heading("Lung zones", as_="h2", size="4"),
        rx.cond(
            CaseState.findings_view.state == "rejected",
            rx.text(
                "The model's zones, rejected by the reviewer: do not use.",
                size="2",
                color_scheme="red",
                id="zones-rejected",
            ),
        ),
        lung_map(),
        rx.cond(
            CaseState.reviewed_zones != "",
            rx.text(
                "Reviewer's zone flags: ",
                rx.el.strong(CaseState.reviewed_zones),
                size="2",
                id="reviewed-zones",
            ),
        ),
        rx.el.dl(
            fact("Laterality", rx.cond(CaseState.laterality != "", CaseState.laterality, "—")),
            fact("Lesion burden", CaseState.burden),
            fact("Model", rx.cond(CaseState.model != "", CaseState.model, "—")),
            fact("Finished", CaseState.finished),
            class_name="facts",
            id="result-facts",
        ),
        rx.cond(
            CaseState.timings.length() > 0,
            rx.el.details(
                rx.el.summary("Timings"),
                rx.el.dl(rx.foreach(CaseState.timings, timing), class_name="facts", id="timings"),
            ),
        ),
        spacing="3",
        width="100%",
    )


def downloads() -> rx.Component:
    return rx.el.section(
        rx.heading("Reports", as_="h2", size="4", id="reports-heading"),
        rx.hstack(
            download_link("PDF report", CaseState.pdf_url, "download-pdf", "The report as a PDF"),
            download_link(
                "FHIR DiagnosticReport (JSON)",
                CaseState.fhir_url,
                "download-fhir",
                "HL7 FHIR R4 DiagnosticReport",
            ),
            rx.cond(
                CaseState.seg_url != "",
                download_link(
                    "DICOM SEG",
                    CaseState.seg_url,
                    "download-seg",
                    "DICOM Segmentation of the lesion mask",
                ),
            ),
            rx.cond(
                CaseState.sr_url != "",
                download_link(
                    "DICOM SR",
                    CaseState.sr_url,
                    "download-sr",
                    "DICOM Structured Report of the findings",
                ),
            ),
            spacing="4",
            wrap="wrap",
            role="list",
            aria_label="Report downloads",
        ),
        aria_labelledby="reports-heading",
        class_name="panel",
    )


def flag_box(key: str) -> rx.Component:
    level = key.rpartition("_")[2]
    id_ = f"flag-{key.replace('_', '-')}"
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=CaseState.review_flags[key].to(bool),
                id=id_,
                on_change=lambda v: CaseState.set_review_flag(key, v),
            ),
            rx.text(level.capitalize(), size="2"),
            rx.el.span(f" ({fmt.zone_label(key)})", class_name="sr-only"),
            align="center",
            spacing="2",
        ),
        html_for=id_,
        class_name="flag-cell",
        data_zone=key,
    )


def zone_flag_editor() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend("Zone flags (lesion present)"),
        rx.grid(
            rx.text(
                "Patient's right",
                rx.el.br(),
                rx.el.small("(image left)"),
                size="1",
                color_scheme="gray",
                aria_hidden="true",
            ),
            rx.text(
                "Patient's left",
                rx.el.br(),
                rx.el.small("(image right)"),
                size="1",
                color_scheme="gray",
                aria_hidden="true",
            ),
            *[
                flag_box(f"patient_{side}_{level}")
                for level in ("upper", "middle", "lower")
                for side in ("right", "left")
            ],
            columns="2",
            spacing="2",
            width="100%",
            id="zone-flag-editor",
        ),
        rx.button(
            "Reset to the model's flags",
            on_click=CaseState.reset_review_flags,
            variant="ghost",
            size="1",
            type="button",
        ),
        rx.text(
            "With flags corrected and the text unchanged, the findings sentence is written "
            "from the flags.",
            size="1",
            color_scheme="gray",
        ),
        class_name="fieldset",
    )


def review_panel() -> rx.Component:
    return rx.el.section(
        rx.heading("Review", as_="h2", size="4", id="review-heading"),
        rx.cond(
            CaseState.is_done,
            rx.vstack(
                rx.el.fieldset(
                    rx.el.legend("Decision"),
                    rx.radio_group.root(
                        rx.hstack(
                            *[
                                rx.el.label(
                                    rx.hstack(
                                        rx.radio_group.item(value=value),
                                        rx.text(label, size="2"),
                                        spacing="2",
                                        align="center",
                                    )
                                )
                                for value, label in (
                                    ("accept", "Accept"),
                                    ("edit", "Edit findings"),
                                    ("reject", "Reject"),
                                )
                            ],
                            spacing="5",
                        ),
                        value=CaseState.decision,
                        on_change=CaseState.set_decision,
                        id="review-decision",
                        aria_label="Decision",
                    ),
                    class_name="fieldset",
                ),
                rx.cond(CaseState.decision != "accept", zone_flag_editor()),
                rx.cond(
                    CaseState.decision == "edit",
                    labelled(
                        "Corrected findings",
                        rx.text_area(
                            id="review-findings",
                            value=CaseState.review_findings,
                            on_change=CaseState.set_review_findings,
                            rows="3",
                            max_length=500,
                            width="100%",
                        ),
                        "review-findings",
                    ),
                ),
                labelled(
                    "Comment (optional)",
                    rx.text_area(
                        id="review-comment",
                        value=CaseState.review_comment,
                        on_change=CaseState.set_review_comment,
                        rows="2",
                        max_length=2000,
                        width="100%",
                    ),
                    "review-comment",
                ),
                error_callout(CaseState.review_error, width="100%", id="review-error"),
                info_callout(CaseState.review_done, width="100%", id="review-done"),
                rx.button(
                    "Submit review",
                    on_click=CaseState.submit_review,
                    loading=CaseState.review_busy,
                    id="submit-review",
                ),
                spacing="3",
                width="100%",
                align="start",
            ),
            rx.text(
                "The case can be reviewed once its analysis has finished.",
                size="2",
                color_scheme="gray",
            ),
        ),
        aria_labelledby="review-heading",
        class_name="panel",
    )


def review_item(r: ReviewRow) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            review_badge(
                rx.match(
                    r.decision,
                    ("accept", "accepted"),
                    ("edit", "edited"),
                    ("reject", "rejected"),
                    r.decision,
                )
            ),
            rx.text(r.reviewer, weight="medium", size="2"),
            rx.text(r.at, size="1", color_scheme="gray"),
            align="center",
            spacing="2",
        ),
        rx.cond(r.findings_text != "", rx.text("Findings: ", r.findings_text, size="2")),
        rx.cond(
            r.zones != "",
            rx.text(
                rx.cond(r.zones_corrected, "Corrected zone flags: ", "Zone flags: "),
                r.zones,
                size="2",
                class_name="history-zones",
            ),
        ),
        rx.cond(r.comment != "", rx.text("Comment: ", r.comment, size="2", color_scheme="gray")),
        class_name="history-item",
        data_decision=r.decision,
    )


def history() -> rx.Component:
    return rx.el.section(
        rx.heading("Review history", as_="h2", size="4", id="history-heading"),
        rx.cond(
            CaseState.reviews.length() > 0,
            rx.el.ol(
                rx.foreach(CaseState.reviews, review_item),
                id="review-history",
                class_name="plain-list",
            ),
            rx.text("Not reviewed yet.", size="2", color_scheme="gray", id="review-history-empty"),
        ),
        aria_labelledby="history-heading",
        class_name="panel",
    )


def out_of_scope() -> rx.Component:
    """Why the film was not analysed; a reviewer may have it analysed anyway."""
    return rx.vstack(
        rx.callout(
            rx.text("Not analysed: ", CaseState.scope_reason),
            icon="ban",
            color_scheme="amber",
            role="alert",
            id="case-out-of-scope",
        ),
        rx.cond(
            AuthState.can_review,
            rx.hstack(
                rx.input(
                    placeholder="Why this is a frontal chest film",
                    aria_label="Reason",
                    value=CaseState.override_reason,
                    on_change=CaseState.set_override_reason,
                    id="override-reason",
                    width="100%",
                ),
                rx.button("Analyse anyway", on_click=CaseState.override_scope, id="analyse-anyway"),
                width="100%",
            ),
        ),
        rx.cond(
            CaseState.override_error != "",
            rx.text(CaseState.override_error, color_scheme="red", size="2", role="alert"),
        ),
        width="100%",
    )


def pending() -> rx.Component:
    return rx.cond(
        CaseState.status == "out_of_scope",
        out_of_scope(),
        pending_or_failed(),
    )


def pending_or_failed() -> rx.Component:
    return rx.cond(
        CaseState.status == "failed",
        rx.callout(
            rx.text("The analysis failed: ", CaseState.case_error),
            icon="circle_x",
            color_scheme="red",
            role="alert",
            id="case-failed",
        ),
        rx.vstack(
            loading(
                rx.cond(
                    CaseState.status == "running", "Analysing the image…", "Waiting in the queue…"
                )
            ),
            rx.text(
                "This page updates by itself when the result is ready.",
                size="2",
                color_scheme="gray",
            ),
        ),
    )


def image_missing() -> rx.Component:
    """Instead of a broken image, and instead of the review panel: the film is gone."""
    return rx.callout(
        "The stored image of this case is missing from the object store, so it cannot be "
        "shown or reviewed. Ask an administrator to restore it from a backup, or upload the "
        "film again as a new case.",
        icon="triangle_alert",
        color_scheme="red",
        role="alert",
        id="image-missing",
    )


def content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            sr("Status:"),
            status_badge(CaseState.status),
            sr("Priority:"),
            priority_badge(CaseState.priority),
            sr("Review:"),
            review_badge(CaseState.review_state),
            rx.text("Case ", CaseState.case_id, size="1", color_scheme="gray"),
            spacing="2",
            align="center",
            wrap="wrap",
            id="case-badges",
        ),
        rx.grid(
            rx.vstack(
                rx.cond(~CaseState.is_done, pending()),
                rx.cond(CaseState.image_missing, image_missing()),
                rx.cond(CaseState.base_src != "", viewer()),
                details(),
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                rx.cond(CaseState.is_done, results()),
                rx.cond(CaseState.is_done, downloads()),
                rx.cond(AuthState.can_review & ~CaseState.image_missing, review_panel()),
                history(),
                spacing="5",
                width="100%",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="6",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def body() -> rx.Component:
    return rx.cond(
        CaseState.error != "",
        rx.vstack(
            error_callout(CaseState.error, id="case-error"),
            rx.link("Back to the worklist", href="/"),
        ),
        rx.cond(CaseState.status == "", loading("Loading the case…"), content()),
    )


@page(routes.CASE, CaseState)
def case() -> rx.Component:
    return shell(
        "Case", intended_use_notice(), body(), actions=rx.link("← Worklist", href="/", size="2")
    )
