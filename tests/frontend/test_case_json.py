"""The portal's parse of the model's answer in the API's case JSON (frontend/portal/case_json.py,
pure Python: no Reflex needed): typed once, so the states read fields, not dict lookups."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "frontend"))

from portal.case_json import ModelOutput, model_output
from portal.fmt import ZONE_KEYS

FLAGS = {z: z == "patient_right_lower" for z in ZONE_KEYS}


def test_a_done_cases_json_reads_into_its_fields() -> None:
    case = {
        "id": "c1",
        "status": "done",
        "findings_text": "Opacity.",
        "laterality": "right",
        "lesion_burden_percent": 3,
        "lesion_present": True,
        "lesion_probability": 0.87,
        "width": 1024,
        "height": 1024,
        "model_name": "medsegtext-segfind",
        "model_version": "2.0.0",
        "zone_flags": FLAGS,
        "zone_probabilities": {"patient_right_lower": 0.9, "patient_left_upper": 0},
    }
    assert model_output(case) == ModelOutput(
        findings_text="Opacity.",
        laterality="right",
        lesion_burden_percent=3,
        lesion_present=True,
        lesion_probability=0.87,
        width=1024,
        height=1024,
        model_name="medsegtext-segfind",
        model_version="2.0.0",
        zone_flags=FLAGS,
        zone_probabilities={"patient_right_lower": 0.9, "patient_left_upper": 0.0},
    )


def test_absent_or_mistyped_fields_read_as_absent() -> None:
    assert model_output({"status": "queued"}) == ModelOutput()
    odd = model_output(
        {
            "lesion_present": "yes",
            "lesion_probability": True,
            "width": "1024",
            "zone_flags": [1],
            "zone_probabilities": {"patient_left_upper": "x"},
            "scope_reason": "a lateral view",
        }
    )
    assert odd == ModelOutput(scope_reason="a lateral view")
