"""Case page: the facts as label/value pairs. `fact` is one pair of the definition lists that
the film's details (here) and the results (case_results.py) are made of."""

from __future__ import annotations

import reflex as rx

from portal.state.case import CaseState


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
