"""A reviewer imports a study from the PACS in the portal (issue 16 item 2): Orthanc holds a
chest film's study; the reviewer opens the PACS page, searches by patient ID, sees the study,
clicks Import and reads the outcome; the film has become a case, which the worklist shows."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_pages import TIMEOUT_MS, shot, sign_in
from e2e_stack import ACCOUNTS, DATA, Stack
from playwright.sync_api import Page, expect

from tests.dicom_node.dicom_testkit import identified
from tests.dicom_node.orthanc_kit import Orthanc, OrthancPorts
from tests.shared_data import require

FILM = DATA / "samples" / "dicom" / "nccid-dx-1024.dcm"


@pytest.fixture(scope="module")
def orthanc(own_stack: Stack | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """Orthanc on the ports the stack's API was given as its PACS, with the stack's DICOM node
    as a modality."""
    if own_stack is None:
        pytest.skip("a reused stack (MEDSEGTEXT_E2E_PORTAL_URL): its PACS is not known here")
    if shutil.which("Orthanc") is None:
        pytest.skip("Orthanc is not installed (make test-tools installs Debian's orthanc)")
    pacs = Orthanc(
        OrthancPorts(http=own_stack.pacs_http_port, dicom=own_stack.pacs_dicom_port),
        tmp_path_factory.mktemp("orthanc"),
        own_stack.dicom_port,
    )
    pacs.start()
    try:
        yield pacs
    finally:
        pacs.stop()


def _case_ids(api: Any) -> set[str]:
    r = api.http.get(
        "/api/cases", headers=api.as_role("reviewer"), params={"sort": "newest", "limit": 100}
    )
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def test_a_reviewer_searches_the_pacs_imports_a_study_and_finds_the_case(
    page: Page, api: Any, orthanc: Orthanc, artifacts: Path, tmp_path: Path
) -> None:
    require(FILM, what="the DICOM samples")
    film = identified(FILM)
    film.PatientID, film.AccessionNumber = f"E2E-{uuid.uuid4().hex[:8]}", "E2E-ACC-1"
    film.StudyDate, film.StudyDescription = "20261201", "CHEST PA E2E"
    orthanc.put(film, tmp_path)
    before = _case_ids(api)

    sign_in(page, *ACCOUNTS["reviewer"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="PACS").click()
    expect(page.get_by_role("heading", name="PACS")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_label("Patient ID").fill(film.PatientID)
    page.get_by_role("button", name="Search the PACS").click()
    row = page.locator(".pacs-study-row").filter(has_text="E2E-ACC-1")
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(row).to_contain_text("CHEST PA E2E")
    expect(row).to_contain_text("2026-12-01")
    row.get_by_role("button", name="Import").click()
    expect(row.locator(".import-outcome")).to_contain_text("1 case(s) made", timeout=TIMEOUT_MS)
    expect(page.locator("#pacs-message")).to_contain_text("in the worklist")
    shot(page, artifacts, "pacs-import")

    (new,) = _case_ids(api) - before
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    page.get_by_label("Sort").select_option("newest")
    case_row = page.locator(f'.case-row[data-case="{new}"]')
    expect(case_row).to_be_visible(timeout=TIMEOUT_MS)
    shot(page, artifacts, "pacs-import-worklist")
