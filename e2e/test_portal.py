"""The portal in a real browser against the real stack: roles, upload to result, review,
isolation between clinicians, user administration, tokens and refused files."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_pages import TIMEOUT_MS, expect_film, shot, sign_in, sign_out
from e2e_stack import ACCOUNTS
from playwright.sync_api import Page, expect

ANALYSIS_MS = 120_000
NAV = {  # which navigation links each role sees
    "clinician": {"Worklist": True, "New case": True, "Users": False, "Audit log": False},
    "reviewer": {"Worklist": True, "New case": False, "Users": False, "Audit log": False},
    "admin": {"Worklist": True, "New case": True, "Users": True, "Audit log": True},
}


@pytest.mark.parametrize("role", ["clinician", "reviewer", "admin"])
def test_each_role_signs_in_and_sees_its_navigation(page: Page, role: str, artifacts: Path) -> None:
    email, password = ACCOUNTS[role]
    sign_in(page, email, password)
    nav = page.get_by_role("navigation", name="Main")
    for label, visible in NAV[role].items():
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(1 if visible else 0)
    expect(page.locator("header")).to_contain_text(role)
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    shot(page, artifacts, f"worklist-{role}")
    if role != "admin":  # admin pages send other roles back to the worklist
        page.goto("/admin/users")
        expect(page).to_have_url(re.compile(r"/$"), timeout=TIMEOUT_MS)
    sign_out(page)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/?$"), timeout=TIMEOUT_MS)


def test_wrong_password_is_refused(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(ACCOUNTS["clinician"][0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("Incorrect email or password")


def test_upload_shows_overlay_and_findings(
    page: Page, xray: Path, xray2: Path, artifacts: Path
) -> None:
    sign_in(page, *ACCOUNTS["clinician"])
    page.get_by_role("link", name="New case").first.click()
    expect(page.get_by_role("heading", name="New case")).to_be_visible()
    page.locator("#case_upload input[type=file]").set_input_files([str(xray), str(xray2)])
    expect(page.locator("#chosen-files li")).to_have_count(2)
    expect(page.locator("#chosen-files")).to_contain_text(xray2.name)
    ref = f"E2E-{secrets.token_hex(3)}"
    page.get_by_label("Patient reference").fill(ref)
    page.get_by_label("Age (years)").fill("54")
    page.get_by_label("Sex").select_option("M")
    page.get_by_label("Priority").select_option("stat")
    page.get_by_label("Stat reason").fill("E2E: suspected tension pneumothorax")
    shot(page, artifacts, "upload-chosen")
    page.get_by_role("button", name="Upload and analyse").click()
    row = page.locator(".file-row").filter(has_text=xray.name)
    expect(row).to_have_attribute("data-phase", "done", timeout=ANALYSIS_MS)
    expect(row.get_by_role("progressbar")).to_be_visible()
    expect(page.locator(".file-row").filter(has_text=xray2.name)).to_have_attribute(
        "data-phase", "done", timeout=ANALYSIS_MS
    )
    shot(page, artifacts, "upload-done")

    row.get_by_role("link", name=re.compile("Open the case")).click()
    expect(page.locator("#findings-text")).to_contain_text(
        "pulmonary infection", timeout=TIMEOUT_MS
    )
    expect(page.locator("#lung-map [role=listitem]")).to_have_count(6)
    expect(page.locator("#lung-map")).to_contain_text("%")
    expect_film(page)
    # the lesion layers and their opacity change in the browser (test_portal_viewer.py reads
    # the pixels); here: the controls a clinician sees work
    page.get_by_label("Fill opacity").fill("50")
    expect(page.locator("output[data-out=fill]")).to_have_text("50 %")
    page.get_by_label("Outline", exact=True).uncheck()
    zoom = page.locator("#zoom-level").inner_text()
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator("#zoom-level")).not_to_have_text(zoom)
    expect(page.locator("#result-facts")).to_contain_text("Lesion burden")
    expect(page.locator("#result-facts")).to_contain_text("Model")
    # the browser never holds the API token: images come from the portal's /media tickets
    src = page.locator("#case-viewer").get_attribute("data-film") or ""
    assert "/media/" in src and "token" not in src
    page.get_by_role("button", name="Fit").click()
    page.get_by_label("Outline", exact=True).check()
    shot(page, artifacts, "case-clinician")
    # a clinician has no review panel
    expect(page.get_by_role("button", name="Submit review")).to_have_count(0)

    page.get_by_role("link", name="Worklist", exact=True).click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    # the page's load writes the URL's search (none) into the box before its rows arrive:
    # typing before that is wiped, and the clinician's only two cases would still match
    rows = page.locator(".case-row")
    expect(rows.first).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_label("Search").fill(ref)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"[?&]q={ref}"), timeout=TIMEOUT_MS)
    expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
    expect(rows.first).to_have_attribute("data-status", "done")
    expect(rows.first).to_contain_text("stat")
    page.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_label("Search")).to_have_value("")
    shot(page, artifacts, "worklist-cases")


def test_dicom_upload_is_analysed_and_shown(page: Page, dicom_xray: Path, artifacts: Path) -> None:
    sign_in(page, *ACCOUNTS["clinician"])
    page.goto("/upload")
    page.locator("#case_upload input[type=file]").set_input_files(str(dicom_xray))
    page.get_by_role("button", name="Upload and analyse").click()
    row = page.locator(".file-row").filter(has_text=dicom_xray.name)
    expect(row).to_have_attribute("data-phase", "done", timeout=ANALYSIS_MS)
    row.get_by_role("link", name=re.compile("Open the case")).click()
    expect(page.locator("#findings-text")).to_contain_text("infection", timeout=TIMEOUT_MS)
    expect(page.locator("main")).to_contain_text("(dicom)")
    expect_film(page)
    # browsers cannot show DICOM: the API's PNG preview is the image, with the layer controls
    expect(page.get_by_text("The original is DICOM")).to_have_count(0)
    expect(page.get_by_label("Outline", exact=True)).to_have_count(1)
    shot(page, artifacts, "case-dicom")


def test_reviewer_edits_then_accepts_and_sees_history(
    page: Page, done_case: dict[str, Any], artifacts: Path
) -> None:
    sign_in(page, *ACCOUNTS["reviewer"])
    page.goto(f"/cases/{done_case['id']}")
    expect(page.locator("#findings-text")).to_contain_text(
        "pulmonary infection", timeout=TIMEOUT_MS
    )
    edited = (
        "bilateral pulmonary infection, two infected areas, lower left lung and lower right lung."
    )
    page.get_by_role("radio", name="Edit findings").click()
    page.get_by_label("Corrected findings").fill(edited)
    page.get_by_label("Comment (optional)").fill("Left lower zone is clearer on review.")
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("#review-done")).to_contain_text("edited", timeout=TIMEOUT_MS)
    expect(page.locator("#reviewed-findings")).to_have_text(edited)

    page.get_by_role("radio", name="Accept").click()
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("#review-done")).to_contain_text("accepted", timeout=TIMEOUT_MS)
    history = page.locator("#review-history .history-item")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_have_attribute("data-decision", "edit")
    expect(history.nth(0)).to_contain_text(edited)
    expect(history.nth(0)).to_contain_text("Left lower zone is clearer")
    expect(history.nth(1)).to_have_attribute("data-decision", "accept")
    expect(page.locator("#case-badges")).to_contain_text("accepted")
    shot(page, artifacts, "case-reviewed")

    page.get_by_role("link", name="Worklist", exact=True).click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    page.get_by_label("Review", exact=True).select_option("accepted")
    row = page.locator(f".case-row[data-case='{done_case['id']}']")
    expect(row).to_have_count(1, timeout=TIMEOUT_MS)
    expect(row).to_contain_text("accepted")


def test_clinician_cannot_open_another_clinicians_case(
    page: Page, api: Any, done_case: dict[str, Any]
) -> None:
    email = f"clin-{secrets.token_hex(3)}@example.org"
    password = "second-clinician-pass"
    api.create_user(email, password, "clinician", "Second Clinician")
    sign_in(page, email, password)
    expect(page.get_by_text("No cases yet.")).to_be_visible(timeout=TIMEOUT_MS)
    page.goto(f"/cases/{done_case['id']}")
    expect(page.locator("#case-error")).to_contain_text(
        f"No case {done_case['id']}", timeout=TIMEOUT_MS
    )
    expect(page.locator("#case-image")).to_have_count(0)
    expect(page.locator("#findings-text")).to_have_count(0)


def test_admin_creates_a_user_who_can_sign_in(page: Page, artifacts: Path) -> None:
    sign_in(page, *ACCOUNTS["admin"])
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#stat-cards")).to_contain_text("Cases", timeout=TIMEOUT_MS)
    shot(page, artifacts, "admin-dashboard")

    page.get_by_role("link", name="Users").click()
    email = f"new-reviewer-{secrets.token_hex(3)}@example.org"
    password = "a-long-initial-pass"
    form = page.locator("#create-user-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Full name").fill("New Reviewer")
    form.get_by_label("Role").select_option("reviewer")
    form.get_by_label("Initial password").fill(password)
    form.get_by_role("button", name="Create user").click()
    expect(page.locator("#users-message")).to_contain_text(f"Created {email}", timeout=TIMEOUT_MS)
    row = page.locator(f".user-row[data-email='{email}']")
    expect(row).to_have_count(1)
    # a too-short password is refused with the backend's message
    form.get_by_label("Email").fill(f"short-{secrets.token_hex(3)}@example.org")
    form.get_by_label("Initial password").fill("short")
    form.get_by_role("button", name="Create user").click()
    expect(page.locator("#create-user-error")).to_contain_text("at least 12 characters")
    shot(page, artifacts, "admin-users")

    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("#audit-table")).to_contain_text("user", timeout=TIMEOUT_MS)
    shot(page, artifacts, "admin-audit")
    sign_out(page)

    sign_in(page, email, password)
    expect(page.locator("header")).to_contain_text("reviewer")
    sign_out(page)

    # deactivation stops the new user signing in
    sign_in(page, *ACCOUNTS["admin"])
    page.get_by_role("link", name="Users").click()
    page.get_by_role("button", name=f"Deactivate {email}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Deactivate").click()  # asks
    expect(page.locator("#users-message")).to_contain_text("deactivated", timeout=TIMEOUT_MS)
    expect(page.locator(f".user-row[data-email='{email}']")).to_contain_text("deactivated")
    sign_out(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_be_visible(timeout=TIMEOUT_MS)


def test_refused_file_shows_the_backends_message(
    page: Page, api: Any, tmp_path: Path, artifacts: Path
) -> None:
    bad = tmp_path / "not-an-xray.png"
    bad.write_bytes(b"this is a text file, not an image\n" * 4)
    r = httpx.post(
        f"{api.base}/api/cases",
        headers=api.as_role("clinician"),
        files={"file": (bad.name, bad.read_bytes(), "image/png")},
    )
    assert r.status_code >= 400
    expected = r.json()["detail"]

    sign_in(page, *ACCOUNTS["clinician"])
    page.goto("/upload")
    page.locator("#case_upload input[type=file]").set_input_files(str(bad))
    page.get_by_role("button", name="Upload and analyse").click()
    row = page.locator(".file-row").filter(has_text=bad.name)
    expect(row).to_have_attribute("data-phase", "refused", timeout=TIMEOUT_MS)
    expect(row.locator(".file-error")).to_have_text(expected)
    shot(page, artifacts, "upload-refused")


def test_personal_token_is_shown_once_and_can_be_revoked(
    page: Page, api: Any, artifacts: Path
) -> None:
    sign_in(page, *ACCOUNTS["reviewer"])
    page.get_by_role("link", name="Account").click()
    name = f"e2e-{secrets.token_hex(3)}"
    page.get_by_label("Token name").fill(name)
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token-secret")
    expect(secret).to_be_visible(timeout=TIMEOUT_MS)
    token = secret.inner_text().strip()
    assert (
        httpx.get(f"{api.base}/api/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    shot(page, artifacts, "account-token")
    page.get_by_role("button", name="I have stored it").click()
    expect(secret).to_have_count(0)
    page.get_by_role("button", name=f"Revoke token {name}").click()
    expect(page.locator(f".token-row[data-name='{name}']")).to_contain_text(
        "revoked", timeout=TIMEOUT_MS
    )
    assert (
        httpx.get(f"{api.base}/api/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
