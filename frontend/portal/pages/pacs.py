"""PACS page: search the PACS, see its studies, import one (reviewers and admins)."""

from __future__ import annotations

import reflex as rx

from portal import routes
from portal.components.common import empty, error_callout, info_callout, labelled, loading
from portal.components.layout import page as shell
from portal.page import page
from portal.state.models import StudyRow
from portal.state.pacs import PacsState

HEADERS = ("Date", "Patient ID", "Accession", "Description", "Modalities", "Instances", "")


def search_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            labelled(
                "Patient ID",
                rx.input(id="pacs-patient-id", name="patient_id", max_length=64, width="14em"),
                "pacs-patient-id",
                width="auto",
            ),
            labelled(
                "Accession number",
                rx.input(id="pacs-accession", name="accession_number", max_length=16, width="12em"),
                "pacs-accession",
                width="auto",
            ),
            labelled(
                "Study date from",
                rx.input(id="pacs-date-from", name="date_from", type="date"),
                "pacs-date-from",
                width="auto",
            ),
            labelled(
                "to",
                rx.input(id="pacs-date-to", name="date_to", type="date"),
                "pacs-date-to",
                width="auto",
            ),
            rx.button(
                "Search the PACS", type="submit", loading=PacsState.loading, id="pacs-search"
            ),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        on_submit=PacsState.search,
        reset_on_submit=False,
        role="search",
        aria_label="Search the PACS",
        width="100%",
    )


def study_row(s: StudyRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(s.date),
        rx.table.cell(s.patient_id),
        rx.table.cell(s.accession),
        rx.table.cell(s.description),
        rx.table.cell(s.modalities),
        rx.table.cell(s.instances),
        rx.table.cell(
            rx.vstack(
                rx.button(
                    rx.cond(s.outcome != "", "Import again", "Import"),
                    size="1",
                    variant="soft",
                    on_click=PacsState.import_study(s.uid),
                    loading=PacsState.importing == s.uid,
                    disabled=PacsState.importing != "",
                    aria_label="Import the study of " + s.date + ", accession " + s.accession,
                ),
                rx.cond(
                    s.outcome != "",
                    rx.text(
                        s.outcome,
                        size="1",
                        color_scheme=rx.cond(s.imported, "green", "orange"),
                        class_name="import-outcome",
                    ),
                ),
                spacing="1",
                align="start",
            )
        ),
        class_name="pacs-study-row",
        data_uid=s.uid,
    )


def results() -> rx.Component:
    return rx.cond(
        PacsState.studies.length() > 0,
        rx.vstack(
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[rx.table.column_header_cell(h, scope="col") for h in HEADERS]
                        )
                    ),
                    rx.table.body(rx.foreach(PacsState.studies, study_row)),
                    width="100%",
                    variant="surface",
                    size="1",
                    id="pacs-studies",
                ),
                width="100%",
                overflow_x="auto",
            ),
            rx.cond(
                PacsState.more,
                rx.text(
                    "The PACS holds more studies than these 100: narrow the search.",
                    size="1",
                    color_scheme="orange",
                ),
            ),
            width="100%",
        ),
        rx.cond(
            PacsState.loading,
            loading("Searching the PACS…"),
            rx.cond(
                PacsState.searched & (PacsState.error == ""),
                empty(
                    "No study found.",
                    "Check the patient ID or accession number, or widen the dates.",
                ),
            ),
        ),
    )


@page(routes.PACS, PacsState)
def pacs() -> rx.Component:
    return shell(
        "PACS",
        rx.text(
            "Search the hospital's PACS and import a study: its frontal chest films "
            "become cases in the worklist, analysed like any other; lateral views and "
            "other images are not imported.",
            size="2",
            color_scheme="gray",
        ),
        search_form(),
        info_callout(PacsState.message, width="100%", id="pacs-message"),
        error_callout(PacsState.error, width="100%", id="pacs-error"),
        results(),
    )
