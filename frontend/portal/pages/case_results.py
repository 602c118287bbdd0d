"""Case page: a finished analysis, on its own so that the page module is only its layout: the
findings, the lung zones, the result's facts and timings, and the report downloads."""

from __future__ import annotations

import reflex as rx

from portal.components.downloads import download_link
from portal.components.findings import findings_section
from portal.components.viewer import lung_map
from portal.pages.case_facts import fact
from portal.state.case import CaseState
from portal.state.models import Timing


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
