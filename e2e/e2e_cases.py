"""Cases a browser test owns alone, set up through the API: a clinician of its own (the demo
clinician's upload limits are shared by every test), an upload, the wait for its analysis."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from e2e_stack import DATA

DICOM_SAMPLE = DATA / "samples" / "dicom" / "nccid-dx-1024.dcm"
CLINICIAN_PASSWORD = "e2e-clinician-pass-1"


def new_clinician(api: Any) -> tuple[str, dict[str, str]]:
    """A new clinician (password CLINICIAN_PASSWORD): their email and API headers."""
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.org"
    api.create_user(email, CLINICIAN_PASSWORD, "clinician", full_name="E2E Clinician")
    return email, {"Authorization": f"Bearer {api.token(email, CLINICIAN_PASSWORD)}"}


def upload(
    api: Any, headers: dict[str, str], path: Path, media_type: str, patient_ref: str = ""
) -> str:
    """The new case's id."""
    r = api.http.post(
        "/api/cases",
        headers=headers,
        data={
            "patient_ref": patient_ref or f"E2E-DL-{uuid.uuid4().hex[:6]}",
            "age": "58",
            "sex": "F",
            "priority": "routine",
        },
        files={"file": (path.name, path.read_bytes(), media_type)},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def wait_done(api: Any, headers: dict[str, str], case_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        case = api.http.get(f"/api/cases/{case_id}", headers=headers).json()
        if case["status"] in ("done", "failed"):
            assert case["status"] == "done", case
            return
        time.sleep(0.5)
    raise AssertionError(f"case {case_id} not done after 120 s")
