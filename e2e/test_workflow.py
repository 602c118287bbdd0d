"""Issue 5 in the browser: zone-flag corrections, report downloads through tickets, triage,
the audit CSV, the data set export and the model registry pages."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from e2e_pages import TIMEOUT_MS, export_dataset, shot, sign_in
from e2e_stack import ACCOUNTS
from playwright.sync_api import Page, expect

from inference.manifest import Manifest, manifest_path_for
from inference.model_files import DEFAULT_MODEL
from inference.sides import PATIENT_ZONES

SHIPPED = Manifest.load(manifest_path_for(DEFAULT_MODEL)).version

ZONES = PATIENT_ZONES
FLIPPED = "patient_left_upper"  # the image's right upper zone on a standard film


@pytest.fixture(scope="module")
def flag_case(api: Any, xray2: Path) -> dict[str, Any]:
    """A finished urgent case of its own, for the zone-flag correction."""
    created = api.upload(
        "clinician", xray2, patient_ref="E2E-FLAGS", age="47", sex="M", priority="urgent"
    )
    return api.wait_done("clinician", created["id"])


def corrected_flags(case: dict[str, Any]) -> dict[str, bool]:
    flags = {z: bool((case.get("zone_flags") or {}).get(z)) for z in ZONES}
    flags[FLIPPED] = not flags[FLIPPED]
    return flags


def ensure_reviewed(api: Any, case: dict[str, Any]) -> None:
    """When the reviewer test did not run (-k), review the case through the API."""
    current = api.http.get(f"/api/cases/{case['id']}", headers=api.as_role("reviewer")).json()
    if not current.get("reviews"):
        r = api.http.post(
            f"/api/cases/{case['id']}/review",
            headers=api.as_role("reviewer"),
            json={"decision": "edit", "zone_flags": corrected_flags(case)},
        )
        assert r.status_code in (200, 201), r.text


def test_reviewer_corrects_zone_flags_and_downloads_reports(
    page: Page, api: Any, flag_case: dict[str, Any], artifacts: Path
) -> None:
    sign_in(page, *ACCOUNTS["reviewer"])
    # the worklist is in triage order by default and says why an urgent case ranks high
    expect(page.get_by_label("Sort")).to_have_value("triage")
    row = page.locator(f".case-row[data-case='{flag_case['id']}']")
    expect(row).to_contain_text("Why:", timeout=TIMEOUT_MS)
    expect(row).to_contain_text("urgent")

    page.goto(f"/cases/{flag_case['id']}")
    expect(page.locator("#findings-text")).to_contain_text("infection", timeout=TIMEOUT_MS)
    expect(page.locator("#triage-reason")).to_have_text(flag_case["triage_reason"])
    expect(page.locator("#triage-score")).to_have_text(str(flag_case["triage_score"]))

    # reports: ticket links, no token in the browser, right types and file names
    pdf, fhir = page.locator("#download-pdf"), page.locator("#download-fhir")
    expect(pdf).to_be_visible()
    expect(page.locator("#download-seg")).to_have_count(0)  # PNG upload: no DICOM exports
    for link, ctype, suffix in (
        (pdf, "application/pdf", ".pdf"),
        (fhir, "application/fhir+json", ".fhir.json"),
    ):
        href = link.get_attribute("href") or ""
        assert "/media/" in href and "token" not in href
        r = page.request.get(href)
        assert r.status == 200, r.text()
        assert r.headers["content-type"].startswith(ctype)
        assert re.search(
            rf'attachment; filename="medsegtext-{flag_case["id"]}{re.escape(suffix)}"',
            r.headers["content-disposition"],
        )
        if suffix == ".pdf":
            assert r.body().startswith(b"%PDF")
        else:
            assert r.json()["resourceType"] == "DiagnosticReport"
    # correct one zone flag with the keyboard; the sentence is written from the flags
    page.get_by_role("radio", name="Edit findings").click()
    box = page.get_by_role("checkbox", name=re.compile(r"Patient's left upper zone"))
    expect(box).to_be_visible()
    expected = corrected_flags(flag_case)
    expect(box).to_have_attribute("aria-checked", str(not expected[FLIPPED]).lower())
    box.focus()
    page.keyboard.press("Space")
    expect(box).to_have_attribute("aria-checked", str(expected[FLIPPED]).lower())
    shot(page, artifacts, "case-zone-correction")
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("#review-done")).to_contain_text("edited", timeout=TIMEOUT_MS)
    item = page.locator("#review-history .history-item").last
    expect(item).to_have_attribute("data-decision", "edit")
    expect(item).to_contain_text("Corrected zone flags:")
    expect(page.locator("#reviewed-zones")).to_be_visible()
    expect(page.locator("#reviewed-findings")).to_be_visible()
    case = api.http.get(f"/api/cases/{flag_case['id']}", headers=api.as_role("reviewer")).json()
    assert case["reviews"][-1]["zone_flags"] == expected
    assert case["reviewed_zone_flags"] == expected
    expect(page.locator("#reviewed-findings")).to_have_text(case["reviewed_findings_text"])
    shot(page, artifacts, "case-zone-corrected")


def test_admin_audit_csv_models_and_dataset_export(
    page: Page, api: Any, xray: Path, flag_case: dict[str, Any], artifacts: Path
) -> None:
    ensure_reviewed(api, flag_case)
    # an accepted case the export takes (the flag case's edit moves its lesion zones: out)
    accepted = api.wait_done("clinician", api.upload("clinician", xray)["id"])
    r = api.http.post(
        f"/api/cases/{accepted['id']}/review",
        headers=api.as_role("reviewer"),
        json={"decision": "accept"},
    )
    assert r.status_code == 201, r.text
    sign_in(page, *ACCOUNTS["admin"])

    page.goto("/admin/audit")
    expect(page.locator("#audit-table")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_label("Case id").fill(flag_case["id"])
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-table")).to_contain_text("review.create", timeout=TIMEOUT_MS)
    shot(page, artifacts, "admin-audit-filtered")
    link = page.get_by_role("link", name="Download CSV")
    r = page.request.get(link.get_attribute("href") or "")
    assert r.status == 200, r.text()
    assert r.headers["content-type"].startswith("text/csv")
    assert re.search(r'attachment; filename="audit-.*\.csv"', r.headers["content-disposition"])
    rows = list(csv.reader(io.StringIO(r.text())))
    assert len(rows) >= 2
    body = "\n".join(",".join(r) for r in rows[1:])
    assert flag_case["id"] in body and "review.create" in body

    page.get_by_role("link", name="Models").click()
    model = page.locator(f".model-row[data-model='medsegtext-segfind {SHIPPED}']")
    expect(model).to_have_attribute("data-status", "active", timeout=TIMEOUT_MS)
    expect(model.locator(".zone-f1")).to_contain_text(re.compile(r"\d\.\d\d"))
    expect(model.locator(".accepted-share")).to_contain_text("%")
    expect(model.get_by_role("button", name=re.compile("^Activate"))).to_have_count(0)
    shot(page, artifacts, "admin-models")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#model-agreement")).to_contain_text(
        f"medsegtext-segfind {SHIPPED}", timeout=TIMEOUT_MS
    )
    export_dataset(page, artifacts)
    r = page.request.get(page.locator("#export-link").get_attribute("href") or "")
    assert r.status == 200, r.text()
    assert r.headers["content-type"].startswith("application/zip")
    assert ".zip" in r.headers["content-disposition"]
    assert r.body()[:2] == b"PK"
    export = zipfile.ZipFile(io.BytesIO(r.body()))
    readme = export.read("README.txt").decode("utf-8")
    rows = {
        row["case_id"]: row
        for row in csv.DictReader(io.StringIO(export.read("annotations.csv").decode("utf-8")))
    }
    assert rows[accepted["id"]]["mask_source"] == "model"
    if any(corrected_flags(flag_case).values()):  # the reviewer's zones are not the model's
        assert flag_case["id"] not in rows
        assert f"{flag_case['id']}: the reviewer moved the lesion to other zones" in readme
    else:  # corrected to no lesion
        assert rows[flag_case["id"]]["mask_source"] == "empty"
    shot(page, artifacts, "admin-dashboard-agreement")

    # nothing matches: the API's 409 is shown as a message
    page.get_by_label("Uploaded to").fill("2001-01-01")
    page.get_by_role("button", name="Export reviewed cases as dataset").click()
    expect(page.locator("#export-error")).to_contain_text("nothing to export", timeout=TIMEOUT_MS)
