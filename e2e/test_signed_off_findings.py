"""Issue 14, items 2 and 3, as a clinician sees them: the signed-off result first on the
worklist and the case page (a rejected result struck through behind a "do not use" alert, an
edit first with the model's sentence below under its own label), and the intended-use notice
on every results page."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from e2e_pages import TIMEOUT_MS, shot, sign_in
from e2e_stack import ACCOUNTS
from playwright.sync_api import Locator, Page, expect

EDITED = "unilateral pulmonary infection, one infected area, lower left lung."
DECISION_SUPPORT = "Decision support only — not a diagnosis; a clinician must review"


@pytest.fixture(scope="module")
def reviewed(api: Any, xray: Path, xray2: Path) -> dict[str, Any]:
    """Three of one clinician's cases under one patient reference: one the reviewer rejected,
    one edited, one not reviewed yet (the reviews are set up through the API)."""
    ref = f"E2E-SIGNED-{secrets.token_hex(3)}"
    cases = {}
    for name, path in (("rejected", xray), ("edited", xray2), ("unreviewed", xray)):
        created = api.upload("clinician", path, patient_ref=ref)
        cases[name] = api.wait_done("clinician", created["id"])
    for name, body in (
        ("rejected", {"decision": "reject", "comment": "Artefact, not lesion"}),
        ("edited", {"decision": "edit", "findings_text": EDITED}),
    ):
        r = api.http.post(
            f"/api/cases/{cases[name]['id']}/review", headers=api.as_role("reviewer"), json=body
        )
        assert r.status_code == 201, r.text
    me = api.http.get("/api/me", headers=api.as_role("reviewer")).json()
    return {"ref": ref, "cases": cases, "reviewer": me.get("full_name") or me["email"]}


def notice_shown(page: Page) -> None:
    notice = page.get_by_role("note", name="Intended use")
    expect(notice).to_contain_text(DECISION_SUPPORT, timeout=TIMEOUT_MS)
    expect(notice).to_contain_text("Trained on:")
    expect(notice).to_contain_text("QaTa-COV19")
    expect(notice).to_contain_text(re.compile(r"Not trained on:.*lateral views"))


def row_of(page: Page, case: dict[str, Any]) -> Locator:
    return page.locator(f".case-row[data-case='{case['id']}']")


def test_clinician_sees_the_signed_off_result_first(
    page: Page, reviewed: dict[str, Any], artifacts: Path
) -> None:
    cases, reviewer = reviewed["cases"], reviewed["reviewer"]
    model_rejected = cases["rejected"]["findings_text"]
    model_edited = cases["edited"]["findings_text"]
    assert model_rejected and model_edited and model_edited != EDITED

    sign_in(page, *ACCOUNTS["clinician"])
    notice_shown(page)
    page.get_by_label("Search").fill(reviewed["ref"])
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".case-row")).to_have_count(3, timeout=TIMEOUT_MS)
    # the findings column: the edit, not the model's sentence; the rejection struck through;
    # the model's own text only where nobody reviewed it yet, and labelled so
    edited_row = row_of(page, cases["edited"])
    expect(edited_row.locator(".findings-label")).to_have_text("Reviewed (edited)")
    expect(edited_row.locator(".findings-summary")).to_have_text(EDITED)
    expect(edited_row).not_to_contain_text(model_edited)
    rejected_row = row_of(page, cases["rejected"])
    expect(rejected_row.locator(".findings-label")).to_have_text("Rejected — do not use")
    expect(rejected_row.locator(".findings-summary del")).to_have_text(model_rejected)
    unreviewed_row = row_of(page, cases["unreviewed"])
    expect(unreviewed_row.locator(".findings-label")).to_have_text("Model output — awaiting review")
    expect(unreviewed_row.locator(".findings-summary")).to_have_text(
        cases["unreviewed"]["findings_text"]
    )
    shot(page, artifacts, "worklist-signed-off-findings")

    # the rejected case: a "do not use" alert where the findings were; the model's sentence
    # only struck through, under its rejected label
    rejected_row.get_by_role("link", name=re.compile("Open case")).click()
    expect(page.get_by_role("heading", name=f"Rejected by {reviewer} — do not use")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.get_by_role("alert").filter(has_text="do not use")).to_contain_text(
        "there are no signed-off findings for this film"
    )
    expect(page.locator("#findings-text del")).to_have_text(model_rejected)
    expect(page.locator("#model-output-label")).to_have_text("Model output (rejected — do not use)")
    expect(page.locator("#zones-rejected")).to_have_text(
        "The model's zones, rejected by the reviewer: do not use."
    )
    expect(page.get_by_role("heading", name=re.compile(r"^Findings"))).to_have_count(0)
    expect(page.locator("#reviewed-findings")).to_have_count(0)
    notice_shown(page)
    shot(page, artifacts, "case-rejected-clinician")

    # the edited case: the reviewer's findings first, the model's below under its own label
    page.goto(f"/cases/{cases['edited']['id']}")
    heading = page.get_by_role("heading", name=f"Findings (reviewed by {reviewer})")
    expect(heading).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#reviewed-findings")).to_have_text(EDITED)
    expect(page.locator("#model-output-label")).to_have_text("Model output")
    expect(page.locator("#findings-text")).to_have_text(model_edited)
    expect(page.locator("#findings-text del")).to_have_count(0)
    reviewed_box = page.locator("#reviewed-findings").bounding_box()
    model_box = page.locator("#findings-text").bounding_box()
    assert reviewed_box and model_box and reviewed_box["y"] < model_box["y"]
    notice_shown(page)
    shot(page, artifacts, "case-edited-clinician")

    # not reviewed yet: the model's output, saying so
    page.goto(f"/cases/{cases['unreviewed']['id']}")
    expect(page.get_by_role("heading", name="Model output — awaiting review")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.locator("#findings-text")).to_have_text(cases["unreviewed"]["findings_text"])
    expect(page.locator("#reviewed-findings")).to_have_count(0)
    expect(page.locator("main").get_by_text("Model output — awaiting review")).to_have_count(1)
    expect(page.locator("#model-output-label")).to_have_count(0)

    # the upload page, where results appear, carries the same notice
    page.get_by_role("link", name="New case").first.click()
    expect(page.get_by_role("heading", name="New case")).to_be_visible(timeout=TIMEOUT_MS)
    notice_shown(page)
    shot(page, artifacts, "upload-intended-use")
