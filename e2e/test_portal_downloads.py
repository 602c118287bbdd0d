"""Every download link of the portal, clicked as a person clicks it (issue 12 follow-up).

The links are React Router links (rx.el.a): a click on a same-origin href was routed inside
the single-page app, which showed its 404 and downloaded nothing, while fetching the href
worked. Here each link is clicked and the file the browser saved is read back.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from e2e_pages import TIMEOUT_MS, shot, sign_in
from e2e_stack import ACCOUNTS, DATA
from playwright.sync_api import Page, expect

from tests.shared_data import require

DICOM_SAMPLE = DATA / "samples" / "dicom" / "nccid-dx-1024.dcm"
DOWNLOAD_MS = 60_000


def new_clinician(api: Any) -> tuple[str, dict[str, str]]:
    """A clinician of this test alone (the demo one's upload limits are shared by every test);
    their email and API headers."""
    email, password = f"e2e-dl-{uuid.uuid4().hex[:8]}@example.org", "e2e-download-pass-1"
    api.create_user(email, password, "clinician", full_name="E2E Downloads")
    return email, {"Authorization": f"Bearer {api.token(email, password)}"}


def upload(api: Any, headers: dict[str, str], path: Path, media_type: str) -> str:
    r = api.http.post("/api/cases", headers=headers,
                      data={"patient_ref": f"E2E-DL-{uuid.uuid4().hex[:6]}", "age": "58",
                            "sex": "F", "priority": "routine"},
                      files={"file": (path.name, path.read_bytes(), media_type)})
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


def click_download(page: Page, selector: str, artifacts: Path, name: str) -> bytes:
    """Click the link as a person does; the bytes of the file the browser saved."""
    link = page.locator(selector)
    expect(link).to_be_visible(timeout=TIMEOUT_MS)
    here = page.url
    try:
        with page.expect_download(timeout=DOWNLOAD_MS) as info:
            link.click()
    except Exception:
        shot(page, artifacts, f"download-failed-{name}")  # what the click showed instead
        raise
    download = info.value
    assert download.failure() is None, download.failure()
    saved = artifacts / f"download-{name}"
    download.save_as(saved)
    print(f"{selector}: {download.suggested_filename}, {saved.stat().st_size} bytes")
    assert page.url == here, page.url  # the page stayed (no client-side route to a 404)
    return saved.read_bytes()


def open_done_case(page: Page, case_id: str) -> None:
    page.goto(f"/cases/{case_id}")
    expect(page.locator("#download-pdf")).to_be_visible(timeout=TIMEOUT_MS)


def test_clinician_clicks_each_report_download(page: Page, api: Any, xray: Path,
                                               artifacts: Path) -> None:
    require(DICOM_SAMPLE, what="the NCCID DX sample")
    email, headers = new_clinician(api)
    png_case = upload(api, headers, xray, "image/png")
    dicom_case = upload(api, headers, DICOM_SAMPLE, "application/dicom")
    wait_done(api, headers, png_case)
    wait_done(api, headers, dicom_case)
    sign_in(page, email, "e2e-download-pass-1")

    open_done_case(page, png_case)
    pdf = click_download(page, "#download-pdf", artifacts, "report.pdf")
    assert pdf.startswith(b"%PDF"), pdf[:20]
    fhir = json.loads(click_download(page, "#download-fhir", artifacts, "report.fhir.json"))
    assert fhir["resourceType"] == "DiagnosticReport", fhir.get("resourceType")
    expect(page.locator("#download-seg")).to_have_count(0)  # SEG and SR are for DICOM cases

    open_done_case(page, dicom_case)
    for selector, name in (("#download-pdf", "dicom-report.pdf"),
                           ("#download-seg", "seg.dcm"), ("#download-sr", "sr.dcm")):
        body = click_download(page, selector, artifacts, name)
        if name.endswith(".pdf"):
            assert body.startswith(b"%PDF"), body[:20]
        else:
            assert body[128:132] == b"DICM", body[128:132]
    shot(page, artifacts, "case-downloads-clicked")


def test_admin_clicks_audit_csv_and_dataset_export(page: Page, api: Any, xray: Path,
                                                   artifacts: Path) -> None:
    _, headers = new_clinician(api)
    case_id = upload(api, headers, xray, "image/png")
    wait_done(api, headers, case_id)
    r = api.http.post(f"/api/cases/{case_id}/review", headers=api.as_role("reviewer"),
                      json={"decision": "accept"})
    assert r.status_code in (200, 201), r.text
    sign_in(page, *ACCOUNTS["admin"])

    page.goto("/admin/audit")
    expect(page.locator("#audit-table")).to_be_visible(timeout=TIMEOUT_MS)
    body = click_download(page, "#audit-csv", artifacts, "audit.csv")
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    print(f"audit.csv header: {header}")
    assert header[:2] == ["id", "at"] and "action" in header, header

    page.goto("/admin")
    with page.expect_download(timeout=120_000):  # the export downloads once by itself
        page.get_by_role("button", name="Export reviewed cases as dataset").click()
    expect(page.locator("#export-message")).to_contain_text("Exported", timeout=TIMEOUT_MS)
    body = click_download(page, "#export-link", artifacts, "dataset.zip")
    assert body[:2] == b"PK", body[:4]
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert any(n.endswith("annotations.csv") for n in names), names[:10]
    shot(page, artifacts, "admin-export-clicked")
