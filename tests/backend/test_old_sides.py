"""Cases stored before the patient's side (image-side keys, image-side sentences) are read as
patient-side everywhere a person looks: case detail, worklist, reviews, PDF, FHIR. The stored
row itself is not rewritten (converted on read, backend/cases/sides_on_read.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update
from sqlmodel import select

from backend.cases.models import Case
from backend.platform.db import transaction
from backend.reports.fhir import MODEL_OUTPUT_EXTENSION
from backend.reviews.models import Review
from tests.backend.backend_testkit import Stack
from tests.backend.model_kit import pdf_text, qata, run_model, upload

# What the worker stored before issue 13: "lower left lung" = the IMAGE's left.
OLD_FLAGS = {
    "left_upper": False,
    "left_middle": False,
    "left_lower": True,
    "right_upper": False,
    "right_middle": False,
    "right_lower": False,
}
OLD_PROBS = {
    "left_upper": 0.1,
    "left_middle": 0.2,
    "left_lower": 0.9,
    "right_upper": 0.3,
    "right_middle": 0.4,
    "right_lower": 0.05,
}
OLD_TEXT = "unilateral pulmonary infection, one infected area, lower left lung."
NEW_TEXT = "unilateral pulmonary infection, one infected area, lower right lung."


async def test_old_image_side_case_reads_as_the_patients_side(
    stack: Stack, clinician, reviewer, shared_data: Path
) -> None:
    case_id = await upload(stack, clinician[1], qata(shared_data, "covid_1.png"))
    await run_model(stack, case_id)
    async with transaction(stack.services.sessions) as db:
        await db.exec(
            update(Case)
            .where(Case.id == case_id)
            .values(  # type: ignore[arg-type]
                zone_flags=OLD_FLAGS,
                zone_probabilities=OLD_PROBS,
                findings_text=OLD_TEXT,
                laterality="unilateral",
            )
        )
        db.add(
            Review(
                case_id=case_id,
                reviewer_id=reviewer[0],
                decision="reject",
                zone_flags={**OLD_FLAGS, "right_upper": True},
            )
        )

    detail = (await stack.client.get(f"/api/cases/{case_id}", headers=clinician[1])).json()
    assert detail["zone_flags"] == {
        "patient_right_upper": False,
        "patient_right_middle": False,
        "patient_right_lower": True,
        "patient_left_upper": False,
        "patient_left_middle": False,
        "patient_left_lower": False,
    }
    assert detail["zone_probabilities"]["patient_right_lower"] == 0.9
    assert detail["zone_probabilities"]["patient_left_lower"] == 0.05
    assert detail["findings_text"] == NEW_TEXT and detail["laterality"] == "right"
    assert detail["reviews"][-1]["zone_flags"]["patient_left_upper"] is True
    assert detail["reviewed_zone_flags"]["patient_right_lower"] is True

    page = (await stack.client.get("/api/cases", headers=clinician[1])).json()
    listed = {c["id"]: c for c in page["items"]}[case_id]
    assert listed["findings_text"] == NEW_TEXT and listed["laterality"] == "right"

    fhir = (
        await stack.client.get(f"/api/cases/{case_id}/report.fhir.json", headers=clinician[1])
    ).json()
    # rejected: the model's sentence is kept only under its own label, read patient-side
    assert [e["valueString"] for e in fhir["extension"] if e["url"] == MODEL_OUTPUT_EXTENSION] == [
        NEW_TEXT
    ]
    ids = {o["id"] for o in fhir["contained"]}
    assert "zone-patient-right-lower" in ids and "zone-left-lower" not in ids
    pdf = pdf_text(
        (await stack.client.get(f"/api/cases/{case_id}/report.pdf", headers=clinician[1])).content
    )
    assert "lower right lung" in pdf and "image-left" not in pdf

    async with transaction(stack.services.sessions) as db:  # read, never rewritten
        stored = (await db.exec(select(Case.findings_text).where(Case.id == case_id))).one()
    assert stored == OLD_TEXT
