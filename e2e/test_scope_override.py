"""Issue 13 in the browser: a lateral film is shown as not analysed, with the reason, and a
reviewer's "Analyse anyway" (with a reason) has it analysed; the worklist says why."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import pydicom
from e2e_pages import TIMEOUT_MS, shot, sign_in
from e2e_stack import ACCOUNTS
from playwright.sync_api import Page, expect


def test_reviewer_analyses_an_out_of_scope_film_anyway(
    page: Page, api: Any, dicom_xray: Path, artifacts: Path, tmp_path: Path
) -> None:
    ref = f"E2E-SCOPE-{secrets.token_hex(3)}"
    ds = pydicom.dcmread(dicom_xray)
    ds.ViewPosition = "LL"
    lateral = tmp_path / "lateral.dcm"
    ds.save_as(lateral, enforce_file_format=True)
    r = api.http.post(
        "/api/cases",
        headers=api.as_role("clinician"),
        data={"patient_ref": ref},
        files={"file": ("lateral.dcm", lateral.read_bytes(), "application/dicom")},
    )
    assert r.status_code == 202, r.text
    case_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while (case := api.http.get(f"/api/cases/{case_id}", headers=api.as_role("clinician")).json())[
        "status"
    ] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert case["status"] == "out_of_scope", case

    sign_in(page, *ACCOUNTS["reviewer"])
    # by its reference, as a reviewer finds it: the worklist's first page is sorted by priority
    # and, after the rest of the suite, full of STAT cases
    page.get_by_label("Search").fill(ref)
    page.get_by_role("button", name="Search").click()
    row = page.locator(f".case-row[data-case='{case_id}']")
    expect(row).to_contain_text("Not analysed", timeout=TIMEOUT_MS)
    page.goto(f"/cases/{case_id}")
    expect(page.locator("#case-out-of-scope")).to_contain_text("lateral", timeout=TIMEOUT_MS)
    shot(page, artifacts, "case-out-of-scope")
    page.locator("#override-reason").fill("Frontal film; the header says LL by mistake")
    page.get_by_role("button", name="Analyse anyway").click()
    expect(page.locator("#findings-text")).to_be_visible(timeout=TIMEOUT_MS)
    done = api.wait_done("reviewer", case_id)
    assert done["scope_override_reason"] == "Frontal film; the header says LL by mistake"
