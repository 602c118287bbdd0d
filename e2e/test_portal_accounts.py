"""Issue 14, accounts in the portal, clicked as people do: a clinician changes their password
and signs in with the new one; an admin resets a user's password after confirming; a role
change, a deactivation and a model's activation or retirement ask first, and Cancel changes
nothing; the audit log is filtered by an action picked from the list and a user's email, and
a date range that ends before it starts is refused with a message. Every effect is checked
against the API itself."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_pages import TIMEOUT_MS, shot, sign_in, sign_out
from e2e_stack import ACCOUNTS, ROOT
from playwright.sync_api import Page, expect

PASSWORD = "e2e-accounts-pass-1"
NEW_PASSWORD = "e2e-accounts-new-pass-2"
SHIPPED = ROOT / "models" / "medsegtext-segfind.onnx"


def new_user(api: Any, role: str = "clinician") -> tuple[int, str]:
    email = f"e2e-acct-{uuid.uuid4().hex[:8]}@example.org"
    return int(api.create_user(email, PASSWORD, role, full_name="E2E Accounts")["id"]), email


def api_sign_in(api: Any, email: str, password: str) -> httpx.Response:
    return api.http.post("/api/auth/login", json={"email": email, "password": password})


def me_status(api: Any, token: str) -> int:
    return httpx.get(
        f"{api.base}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).status_code


def user(api: Any, user_id: int) -> dict[str, Any]:
    r = api.http.get(
        "/api/admin/users", params={"limit": 100, "q": "e2e-acct-"}, headers=api.as_role("admin")
    )
    return next(u for u in r.json()["items"] if u["id"] == user_id)


def find_user_row(page: Page, email: str) -> Any:
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Find users").fill(email)
    page.get_by_role("button", name="Search").click()
    row = page.locator(f".user-row[data-email='{email}']")
    expect(page.locator(".user-row")).to_have_count(1, timeout=TIMEOUT_MS)
    return row


def change_password(page: Page, current: str, new: str, repeat: str) -> None:
    page.get_by_label("Current password").fill(current)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("Repeat the new password").fill(repeat)
    page.get_by_role("button", name="Change password").click()


def test_clinician_changes_password_and_signs_in_with_the_new_one(
    page: Page, api: Any, artifacts: Path
) -> None:
    _, email = new_user(api)
    elsewhere = api_sign_in(api, email, PASSWORD)
    assert elsewhere.status_code == 200, elsewhere.text
    other_session = elsewhere.json()["token"]
    sign_in(page, email, PASSWORD)
    page.get_by_role("link", name="Account").click()
    error, done = page.locator("#password-error"), page.locator("#password-message")
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible(
        timeout=TIMEOUT_MS
    )

    change_password(page, "not-my-password-1", NEW_PASSWORD, NEW_PASSWORD)
    expect(error).to_contain_text("current password is not correct", timeout=TIMEOUT_MS)
    change_password(page, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    expect(error).to_contain_text("differ", timeout=TIMEOUT_MS)
    change_password(page, PASSWORD, "too-short", "too-short")
    expect(error).to_contain_text("at least 12 characters", timeout=TIMEOUT_MS)
    shot(page, artifacts, "account-password-refused")
    assert me_status(api, other_session) == 200  # nothing changed yet

    change_password(page, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    expect(done).to_contain_text("Your password has been changed", timeout=TIMEOUT_MS)
    expect(done).to_contain_text("(1)")
    expect(error).to_have_count(0)
    expect(page.get_by_label("Current password")).to_have_value("")
    shot(page, artifacts, "account-password-changed")
    assert me_status(api, other_session) == 401  # the other session ended
    # this browser stays signed in: its next step works, with one session left
    page.get_by_role("link", name="Worklist", exact=True).click()
    page.get_by_role("link", name="Account").click()
    expect(page.locator(".session-row")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(page.locator("#signed-in-user")).to_be_visible()

    sign_out(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text(
        "Incorrect email or password", timeout=TIMEOUT_MS
    )
    sign_in(page, email, NEW_PASSWORD)


def test_admin_resets_a_users_password_after_confirming(
    page: Page, api: Any, artifacts: Path
) -> None:
    _, email = new_user(api)
    session = api_sign_in(api, email, PASSWORD).json()["token"]
    sign_in(page, *ACCOUNTS["admin"])
    row = find_user_row(page, email)

    row.get_by_role("button", name=f"Reset the password of {email}").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Reset the password of {email}?", timeout=TIMEOUT_MS)
    expect(dialog).to_contain_text("ends at once")
    shot(page, artifacts, "admin-reset-password-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    assert me_status(api, session) == 200  # Cancel changed nothing
    assert api_sign_in(api, email, PASSWORD).status_code == 200

    # typed twice, differently: refused in the dialog, nothing sent
    row.get_by_role("button", name=f"Reset the password of {email}").click()
    dialog.get_by_label("New password (optional)").fill("typed-once-password")
    dialog.get_by_label("Repeat the new password").fill("typed-twice-password")
    dialog.get_by_role("button", name="Reset password").click()
    expect(dialog.locator("#reset-error")).to_contain_text("differ", timeout=TIMEOUT_MS)
    assert me_status(api, session) == 200

    # empty: a generated password, shown once
    dialog.get_by_label("New password (optional)").fill("")
    dialog.get_by_label("Repeat the new password").fill("")
    dialog.get_by_role("button", name="Reset password").click()
    secret = dialog.locator("#reset-secret")
    expect(secret).to_be_visible(timeout=TIMEOUT_MS)
    generated = secret.inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", generated), generated
    shot(page, artifacts, "admin-reset-password-done")
    assert me_status(api, session) == 401  # the user's sessions ended
    assert api_sign_in(api, email, PASSWORD).status_code == 401
    assert api_sign_in(api, email, generated).status_code == 200
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page.locator("#users-message")).to_contain_text(f"Password of {email} reset")
    # the secret is gone from the page once the dialog closed
    expect(page.get_by_text(generated)).to_have_count(0)


def test_role_changes_and_deactivation_ask_first(page: Page, api: Any, artifacts: Path) -> None:
    user_id, email = new_user(api)
    sign_in(page, *ACCOUNTS["admin"])
    row = find_user_row(page, email)
    role = row.get_by_label(f"Role of {email}")
    expect(role).to_have_value("clinician")

    role.select_option("admin")
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Make {email} an admin?", timeout=TIMEOUT_MS)
    expect(dialog).to_contain_text("manage every user")
    shot(page, artifacts, "admin-promote-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(role).to_have_value("clinician")
    assert user(api, user_id)["role"] == "clinician"  # Cancel changed nothing

    role.select_option("admin")
    expect(dialog).to_contain_text(f"Make {email} an admin?", timeout=TIMEOUT_MS)
    page.keyboard.press("Escape")  # Escape is Cancel too
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    assert user(api, user_id)["role"] == "clinician"

    role.select_option("admin")
    dialog.get_by_role("button", name="Make admin").click()
    expect(page.locator("#users-message")).to_contain_text(
        f"{email} is now admin", timeout=TIMEOUT_MS
    )
    assert user(api, user_id)["role"] == "admin"
    expect(role).to_have_value("admin")

    role.select_option("reviewer")  # demotion says what is lost
    expect(dialog).to_contain_text(f"Remove admin rights from {email}?", timeout=TIMEOUT_MS)
    shot(page, artifacts, "admin-demote-confirm")
    dialog.get_by_role("button", name="Make reviewer").click()
    expect(page.locator("#users-message")).to_contain_text(
        f"{email} is now reviewer", timeout=TIMEOUT_MS
    )
    assert user(api, user_id)["role"] == "reviewer"

    row.get_by_role("button", name=f"Deactivate {email}").click()
    expect(dialog).to_contain_text(f"Deactivate {email}?", timeout=TIMEOUT_MS)
    expect(dialog).to_contain_text("signed out everywhere")
    dialog.get_by_role("button", name="Cancel").click()
    assert user(api, user_id)["is_active"] is True
    row.get_by_role("button", name=f"Deactivate {email}").click()
    dialog.get_by_role("button", name="Deactivate").click()
    expect(page.locator("#users-message")).to_contain_text(
        f"{email} deactivated", timeout=TIMEOUT_MS
    )
    assert user(api, user_id)["is_active"] is False
    shot(page, artifacts, "admin-deactivated")


@pytest.fixture()
def two_models(
    api: Any, own_stack: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The shipped (active) model and a copy of it under another version, registered; the
    shipped one is active again afterwards whatever happens (the worker analyses every later
    case with the active one)."""
    if own_stack is None:
        pytest.skip(
            "a model is registered by its path on the API's machine: a reused stack "
            "(MEDSEGTEXT_E2E_API_URL, e.g. containers) does not see this machine's files"
        )
    admin = api.as_role("admin")
    folder = tmp_path_factory.mktemp("model-copy")
    copy = folder / SHIPPED.name
    shutil.copyfile(SHIPPED, copy)
    manifest = json.loads(SHIPPED.with_name(SHIPPED.stem + ".manifest.json").read_text())
    manifest["version"] = f"{manifest['version']}-e2e-{uuid.uuid4().hex[:6]}"
    copy.with_name(copy.stem + ".manifest.json").write_text(json.dumps(manifest))
    for path in (SHIPPED, copy):
        r = api.http.post("/api/admin/models", headers=admin, json={"path": str(path)})
        assert r.status_code in (201, 409), r.text
    models = api.http.get("/api/admin/models", headers=admin).json()
    shipped = next(m for m in models if m["status"] == "active")
    other = next(m for m in models if m["onnx_path"] == str(copy))
    yield {"other": other, "shipped": shipped}
    api.http.post(f"/api/admin/models/{shipped['id']}/activate", headers=admin)


def model_status(api: Any, model_id: int) -> str:
    r = api.http.get(f"/api/admin/models/{model_id}", headers=api.as_role("admin"))
    return str(r.json()["status"])


def test_model_activation_and_retirement_ask_first(
    page: Page, api: Any, two_models: dict[str, Any], artifacts: Path
) -> None:
    other, shipped = two_models["other"], two_models["shipped"]
    other_name = f"{other['name']} {other['version']}"
    shipped_name = f"{shipped['name']} {shipped['version']}"
    sign_in(page, *ACCOUNTS["admin"])
    page.get_by_role("link", name="Models").click()
    other_row = page.locator(f".model-row[data-model='{other_name}']")
    expect(other_row).to_be_visible(timeout=TIMEOUT_MS)
    dialog = page.get_by_role("alertdialog")

    other_row.get_by_role("button", name=f"Activate {other_name}").click()
    expect(dialog).to_contain_text(f"Activate {other_name}?", timeout=TIMEOUT_MS)
    expect(dialog).to_contain_text(f"{shipped_name}, active now, becomes registered")
    shot(page, artifacts, "admin-model-activate-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    assert model_status(api, shipped["id"]) == "active"  # Cancel changed nothing
    assert model_status(api, other["id"]) != "active"

    other_row.get_by_role("button", name=f"Activate {other_name}").click()
    dialog.get_by_role("button", name="Activate").click()
    expect(page.locator("#models-message")).to_contain_text(
        f"{other_name} activated", timeout=TIMEOUT_MS
    )
    expect(other_row).to_have_attribute("data-status", "active")
    assert model_status(api, other["id"]) == "active"

    # back to the shipped model, then retire the other one (asked first too)
    page.locator(f".model-row[data-model='{shipped_name}']").get_by_role(
        "button", name=f"Activate {shipped_name}"
    ).click()
    dialog.get_by_role("button", name="Activate").click()
    expect(page.locator("#models-message")).to_contain_text(
        f"{shipped_name} activated", timeout=TIMEOUT_MS
    )
    assert model_status(api, shipped["id"]) == "active"

    other_row.get_by_role("button", name=f"Retire {other_name}").click()
    expect(dialog).to_contain_text(f"Retire {other_name}?", timeout=TIMEOUT_MS)
    shot(page, artifacts, "admin-model-retire-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    assert model_status(api, other["id"]) == "registered"
    other_row.get_by_role("button", name=f"Retire {other_name}").click()
    dialog.get_by_role("button", name="Retire").click()
    expect(other_row).to_have_attribute("data-status", "retired", timeout=TIMEOUT_MS)
    assert model_status(api, other["id"]) == "retired"


def test_audit_filters_by_action_from_the_list_and_by_email(
    page: Page, api: Any, artifacts: Path
) -> None:
    _, email = new_user(api)
    for _ in range(2):
        assert api_sign_in(api, email, PASSWORD).status_code == 200
    assert api_sign_in(api, email, "wrong-password-123").status_code == 401
    sign_in(page, *ACCOUNTS["admin"])
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("#audit-table")).to_be_visible(timeout=TIMEOUT_MS)
    action = page.get_by_label("Action")
    expect(action.locator("option[value='auth.password_change']")).to_have_count(1)
    expect(action.locator("option[value='model.activate']")).to_contain_text(
        "Activated a model version"
    )

    action.select_option("auth.sign_in")
    page.get_by_label("User email").fill(email)
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#audit-table .audit-row")
    expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
    for i in range(2):
        expect(rows.nth(i)).to_contain_text(email)
        expect(rows.nth(i)).to_contain_text("auth.sign_in")
    shot(page, artifacts, "admin-audit-by-action-and-email")

    action.select_option("auth.sign_in_failed")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1, timeout=TIMEOUT_MS)
    expect(rows.first).to_contain_text("bad_password")

    page.get_by_label("User email").fill("nobody-here@example.org")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-filter-error")).to_contain_text(
        "No user has the email 'nobody-here@example.org'", timeout=TIMEOUT_MS
    )


def test_inverted_date_range_shows_a_message(page: Page, artifacts: Path) -> None:
    sign_in(page, *ACCOUNTS["admin"])
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("#audit-table")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_label("Since").fill("2026-03-02")
    page.get_by_label("Until").fill("2026-03-01")
    page.get_by_role("button", name="Filter").click()
    message = page.locator("#audit-filter-error")
    expect(message).to_contain_text("The date range ends before it starts", timeout=TIMEOUT_MS)
    expect(message).to_contain_text("“Since” (2026-03-02) is after “Until” (2026-03-01)")
    expect(page.locator("#audit-table")).to_have_count(0)  # no "nothing matched" either
    expect(page.get_by_text("No events match.")).to_have_count(0)
    shot(page, artifacts, "admin-audit-inverted-range")
    page.get_by_label("Until").fill("2026-03-02")  # one day: a valid range
    page.get_by_role("button", name="Filter").click()
    expect(message).to_have_count(0, timeout=TIMEOUT_MS)
