"""Every download link of the portal, clicked as a person clicks it (issue 12 follow-up).

The links are React Router links (rx.el.a): a click on a same-origin href was routed inside
the single-page app, which showed its 404 and downloaded nothing, while fetching the href
worked. Here each link is clicked and the file the browser saved is read back.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from e2e_cases import CLINICIAN_PASSWORD, DICOM_SAMPLE, new_clinician, upload, wait_done
from e2e_pages import TIMEOUT_MS, click_download, export_dataset, shot, sign_in
from e2e_stack import ACCOUNTS
from playwright.sync_api import Page, expect

from tests.shared_data import require


def open_done_case(page: Page, case_id: str) -> None:
    page.goto(f"/cases/{case_id}")
    expect(page.locator("#download-pdf")).to_be_visible(timeout=TIMEOUT_MS)


def test_clinician_clicks_each_report_download(
    page: Page, api: Any, xray: Path, artifacts: Path
) -> None:
    require(DICOM_SAMPLE, what="the NCCID DX sample")
    email, headers = new_clinician(api)
    png_case = upload(api, headers, xray, "image/png")
    dicom_case = upload(api, headers, DICOM_SAMPLE, "application/dicom")
    wait_done(api, headers, png_case)
    wait_done(api, headers, dicom_case)
    sign_in(page, email, CLINICIAN_PASSWORD)

    open_done_case(page, png_case)
    pdf = click_download(page, "#download-pdf", artifacts, "report.pdf")
    assert pdf.startswith(b"%PDF"), pdf[:20]
    fhir = json.loads(click_download(page, "#download-fhir", artifacts, "report.fhir.json"))
    assert fhir["resourceType"] == "DiagnosticReport", fhir.get("resourceType")
    expect(page.locator("#download-seg")).to_have_count(0)  # SEG and SR are for DICOM cases

    open_done_case(page, dicom_case)
    for selector, name in (
        ("#download-pdf", "dicom-report.pdf"),
        ("#download-seg", "seg.dcm"),
        ("#download-sr", "sr.dcm"),
    ):
        body = click_download(page, selector, artifacts, name)
        if name.endswith(".pdf"):
            assert body.startswith(b"%PDF"), body[:20]
        else:
            assert body[128:132] == b"DICM", body[128:132]
    shot(page, artifacts, "case-downloads-clicked")


def test_admin_clicks_audit_csv_and_dataset_export(
    page: Page, api: Any, xray: Path, artifacts: Path
) -> None:
    _, headers = new_clinician(api)
    case_id = upload(api, headers, xray, "image/png")
    wait_done(api, headers, case_id)
    r = api.http.post(
        f"/api/cases/{case_id}/review", headers=api.as_role("reviewer"), json={"decision": "accept"}
    )
    assert r.status_code in (200, 201), r.text
    sign_in(page, *ACCOUNTS["admin"])

    page.goto("/admin/audit")
    expect(page.locator("#audit-table")).to_be_visible(timeout=TIMEOUT_MS)
    body = click_download(page, "#audit-csv", artifacts, "audit.csv")
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    print(f"audit.csv header: {header}")
    assert header[:2] == ["id", "at"] and "action" in header, header

    page.goto("/admin")
    export_dataset(page, artifacts)  # the export downloads once by itself
    body = click_download(page, "#export-link", artifacts, "dataset.zip")
    assert body[:2] == b"PK", body[:4]
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert any(n.endswith("annotations.csv") for n in names), names[:10]
    shot(page, artifacts, "admin-export-clicked")
