"""The signed-off result comes first in every report and in the worklist's answer, one review
decision at a time (unreviewed, accepted, edited, rejected) on one real DICOM case; the model's
own sentence is always kept under its own label, and a rejected one never reads as findings."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pydicom
import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from backend.reports.context import REJECTED_NOTE
from backend.reports.fhir import MODEL_OUTPUT_EXTENSION
from tests.backend.backend_testkit import Stack
from tests.backend.model_kit import pdf_words, review, run_model, upload

EDITED = "unilateral pulmonary infection, one infected area, lower right lung."
REVIEWER = "Test reviewer"  # backend_testkit's reviewer's full name


@pytest.fixture(scope="module")
def dicom_sample(shared_data: Path) -> bytes:
    return (shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm").read_bytes()


async def _reports(
    stack: Stack, headers: dict[str, str], case_id: str
) -> tuple[str, dict[str, Any], pydicom.Dataset]:
    got = {}
    for name in ("report.pdf", "report.fhir.json", "sr.dcm"):
        r = await stack.client.get(f"/api/cases/{case_id}/{name}", headers=headers)
        assert r.status_code == 200, (name, r.text)
        got[name] = r.content
    fhir = DiagnosticReport.model_validate_json(got["report.fhir.json"]).model_dump(mode="json")
    return (pdf_words(got["report.pdf"]), fhir, pydicom.dcmread(io.BytesIO(got["sr.dcm"])))


def _model_output(fhir: dict[str, Any]) -> list[str]:
    return [
        e["valueString"] for e in fhir.get("extension", []) if e["url"] == MODEL_OUTPUT_EXTENSION
    ]


def _sr_texts(sr: pydicom.Dataset) -> list[tuple[str, str]]:
    """(concept code value, text) of the SR's text items, in document order."""
    return [
        (i.ConceptNameCodeSequence[0].CodeValue, i.TextValue)
        for i in sr.ContentSequence
        if i.ValueType == "TEXT"
    ]


async def _listed(stack: Stack, headers: dict[str, str], case_id: str) -> dict[str, Any]:
    page = (
        await stack.client.get(
            "/api/cases", headers=headers, params={"sort": "newest", "limit": 100}
        )
    ).json()
    return next(c for c in page["items"] if c["id"] == case_id)


async def test_every_report_puts_the_signed_off_result_first(
    stack: Stack, clinician, reviewer, dicom_sample: bytes
) -> None:
    case_id = await upload(stack, clinician[1], dicom_sample, "chest.dcm")
    model = (await run_model(stack, case_id)).findings_text
    assert model and model != EDITED

    # unreviewed: the model's output, labelled as awaiting review; preliminary, unverified
    pdf, fhir, sr = await _reports(stack, clinician[1], case_id)
    assert "Model output - awaiting review" in pdf and model in pdf and "reviewed by" not in pdf
    assert fhir["status"] == "preliminary" and "resultsInterpreter" not in fhir
    assert fhir["conclusion"] == f"Model output — awaiting review: {model}"
    assert _model_output(fhir) == [model]
    texts = _sr_texts(sr)
    assert "121071" not in [code for code, _ in texts]  # no "Finding": nothing signed off
    assert texts[0][0] == "121106" and texts[0][1].startswith("Model output — awaiting review")
    assert ("model-output", model) in texts and sr.VerificationFlag == "UNVERIFIED"
    assert (await _listed(stack, clinician[1], case_id))["reviewed_findings_text"] is None

    # accepted: the model's text is the reviewer's findings now; the model's label stays
    await review(stack, reviewer[1], case_id, decision="accept")
    pdf, fhir, sr = await _reports(stack, clinician[1], case_id)
    heading = f"Findings (reviewed by {REVIEWER})"
    assert pdf.index(heading) < pdf.index(model) < pdf.index("Model output:")
    assert fhir["status"] == "final" and fhir["conclusion"] == model
    assert fhir["resultsInterpreter"] == [{"display": REVIEWER}]
    texts = _sr_texts(sr)
    assert texts[0] == ("121071", model) and texts[1][1].startswith(heading)
    assert ("model-output", model) in texts and sr.VerificationFlag == "VERIFIED"
    listed = await _listed(stack, clinician[1], case_id)
    assert (listed["review_state"], listed["reviewed_findings_text"]) == ("accepted", model)
    assert listed["reviewer_name"] == REVIEWER

    # edited: the reviewer's sentence first, the model's below under its own label
    await review(stack, reviewer[1], case_id, decision="edit", findings_text=EDITED)
    pdf, fhir, sr = await _reports(stack, clinician[1], case_id)
    assert (
        pdf.index(heading)
        < pdf.index(EDITED)
        < pdf.index("Model output:")
        < pdf.index(model, pdf.index("Model output:"))
    )
    assert fhir["status"] == "final" and fhir["conclusion"] == EDITED
    assert _model_output(fhir) == [model]
    texts = _sr_texts(sr)
    assert texts[0] == ("121071", EDITED) and texts[1][1].startswith(heading)
    assert ("model-output", model) in texts and sr.VerificationFlag == "VERIFIED"
    listed = await _listed(stack, clinician[1], case_id)
    assert (listed["review_state"], listed["reviewed_findings_text"]) == ("edited", EDITED)

    # rejected: a "do not use" notice where the findings were; the model's text only under
    # its rejected label (struck through in the PDF); withdrawn in FHIR, unverified in DICOM
    await review(stack, reviewer[1], case_id, decision="reject", comment="not a lesion")
    pdf, fhir, sr = await _reports(stack, clinician[1], case_id)
    banner = f"Rejected by {REVIEWER} - do not use"
    assert (
        pdf.index(banner)
        < pdf.index(REJECTED_NOTE)
        < pdf.index("Model output (rejected - do not use):")
        < pdf.index(model)
    )
    assert "Findings (" not in pdf and EDITED not in pdf
    assert fhir["status"] == "entered-in-error"
    assert fhir["conclusion"] == f"Rejected by {REVIEWER} — do not use. {REJECTED_NOTE}"
    assert model not in fhir["conclusion"] and _model_output(fhir) == [model]
    assert {o["status"] for o in fhir["contained"]} == {"entered-in-error"}
    texts = _sr_texts(sr)
    assert "121071" not in [code for code, _ in texts]
    assert texts[0][0] == "121106" and texts[0][1].startswith(
        f"Rejected by {REVIEWER} — do not use. {REJECTED_NOTE}"
    )
    assert ("model-output", model) in texts and sr.VerificationFlag == "UNVERIFIED"
    assert sr.PreliminaryFlag == "PRELIMINARY"
    assert (await _listed(stack, clinician[1], case_id))["review_state"] == "rejected"
