"""Issue 12: users see where they are signed in and end the other sessions; admins see and
revoke a user's sessions and personal tokens from the Users page (revoke-all after a
confirmation step). Each ended token is checked against the API itself.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_pages import TIMEOUT_MS, shot, sign_in
from e2e_stack import ACCOUNTS
from playwright.sync_api import Browser, BrowserContext, Page, expect

PASSWORD = "e2e-sessions-pass-1"
#: where the stack sees this browser come from: this machine, or for a reused stack what it
#: names (compose: its network's gateway, through which the published ports are reached)
BROWSER_ADDRESS = os.environ.get("MEDSEGTEXT_E2E_BROWSER_ADDRESS", "127.0.0.1")


def new_user(api: Any, role: str = "clinician") -> str:
    email = f"e2e-sess-{uuid.uuid4().hex[:8]}@example.org"
    api.create_user(email, PASSWORD, role, full_name="E2E Sessions")
    return email


def me_status(api: Any, token: str) -> int:
    return httpx.get(
        f"{api.base}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).status_code


@pytest.fixture()
def other_context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """A second browser (its own cookies and tabs): another workstation."""
    ctx = browser.new_context(base_url=base_url, viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()


def expect_signed_out_on_next_step(other: Page) -> None:
    """The ended browser's next step (opening a page through the app) lands on sign-in."""
    other.get_by_role("link", name="Account").click()
    expect(other.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
    expect(other).to_have_url(re.compile(r"/login/?$"))
    expect(other.get_by_text("Your session has ended")).to_be_visible()


def test_user_sees_two_sessions_and_ends_the_other(
    page: Page, other_context: BrowserContext, api: Any, artifacts: Path
) -> None:
    email = new_user(api)
    sign_in(page, email, PASSWORD)
    other = other_context.new_page()
    sign_in(other, email, PASSWORD)

    page.get_by_role("link", name="Account").click()
    rows = page.locator(".session-row")
    expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
    mine = page.locator(".session-row[data-current='true']")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("this session")
    # the browser's own user agent and address, as the API recorded them at sign-in
    expect(mine).to_contain_text("Chrome")
    expect(mine).to_contain_text(BROWSER_ADDRESS)
    shot(page, artifacts, "account-sessions")

    theirs = page.locator(".session-row[data-current='false']")
    theirs.get_by_role("button", name=re.compile("^End the session")).click()
    expect(page.locator("#sessions-message")).to_contain_text("ended", timeout=TIMEOUT_MS)
    expect(rows).to_have_count(1)
    expect(page.locator("#end-other-sessions")).to_be_disabled()
    expect_signed_out_on_next_step(other)
    shot(other, artifacts, "account-session-ended-elsewhere")

    # this browser is still signed in
    page.reload()
    expect(page.locator(".session-row")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(page.locator("#signed-in-user")).to_be_visible()

    # "End all other sessions": the other browser signs in again, then is ended with the rest
    sign_in(other, email, PASSWORD)
    page.reload()
    expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
    page.get_by_role("button", name="End all other sessions").click()
    expect(page.locator("#sessions-message")).to_contain_text(
        "Ended 1 other session", timeout=TIMEOUT_MS
    )
    expect(rows).to_have_count(1)
    expect_signed_out_on_next_step(other)


def test_personal_token_lifetime_is_chosen_and_shown(page: Page, api: Any, artifacts: Path) -> None:
    email = new_user(api, "reviewer")
    sign_in(page, email, PASSWORD)
    page.get_by_role("link", name="Account").click()
    name = f"e2e-week-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Token name").fill(name)
    page.get_by_label("Lifetime").select_option("7")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token-secret")).to_be_visible(timeout=TIMEOUT_MS)
    token = page.locator("#new-token-secret").inner_text().strip()
    listed = httpx.get(
        f"{api.base}/api/auth/tokens", timeout=30, headers={"Authorization": f"Bearer {token}"}
    ).json()
    made = next(t for t in listed if t["name"] == name)
    created, expires = (
        datetime.fromisoformat(made[k].replace("Z", "+00:00")) for k in ("created_at", "expires_at")
    )
    assert abs((expires - created) - timedelta(days=7)) < timedelta(minutes=1), made
    row = page.locator(f".token-row[data-name='{name}']")
    expect(row).to_contain_text(expires.strftime("%Y-%m-%d %H:%M UTC"))
    shot(page, artifacts, "account-token-lifetime")


def test_admin_revokes_a_users_token_then_all_after_confirming(
    page: Page, api: Any, artifacts: Path
) -> None:
    email = new_user(api)
    session = api.http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert session.status_code == 200, session.text
    session_token = session.json()["token"]
    name = f"e2e-leaked-{uuid.uuid4().hex[:6]}"
    made = api.http.post(
        "/api/auth/tokens",
        json={"name": name},
        headers={"Authorization": f"Bearer {session_token}"},
    )
    assert made.status_code in (200, 201), made.text
    personal, prefix = made.json()["token"], made.json()["prefix"]
    assert me_status(api, personal) == 200 and me_status(api, session_token) == 200

    sign_in(page, *ACCOUNTS["admin"])
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Find users").fill(email)
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".user-row")).to_have_count(1, timeout=TIMEOUT_MS)
    page.get_by_role("button", name=f"Sessions and tokens of {email}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Sessions and tokens of {email}", timeout=TIMEOUT_MS)
    rows = dialog.locator(".admin-token-row")
    expect(rows).to_have_count(2, timeout=TIMEOUT_MS)  # the sign-in session and the token
    expect(
        dialog.locator(f".admin-token-row[data-kind='personal'][data-name='{name}']")
    ).to_have_count(1)
    shot(page, artifacts, "admin-user-tokens")

    dialog.get_by_role("button", name=f"Revoke token {name} ({prefix})").click()
    expect(dialog.locator("#admin-tokens-message")).to_contain_text(
        "Revoked the token", timeout=TIMEOUT_MS
    )
    expect(rows).to_have_count(1)  # live ones only, by default
    assert me_status(api, personal) == 401
    assert me_status(api, session_token) == 200  # only that token ended

    # the ended token is still listed with the ended ones
    dialog.get_by_label("Include revoked and expired").click()
    ended = dialog.locator(f".admin-token-row[data-name='{name}']")
    expect(ended).to_contain_text("revoked", timeout=TIMEOUT_MS)

    # revoke-all asks first; nothing ends until the admin confirms
    dialog.get_by_role("button", name=f"Revoke all sessions and personal tokens of {email}").click()
    confirm = dialog.locator("#revoke-all-confirm")
    expect(confirm).to_contain_text(email)
    shot(page, artifacts, "admin-user-tokens-confirm")
    assert me_status(api, session_token) == 200
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_have_count(0)
    assert me_status(api, session_token) == 200

    dialog.get_by_role("button", name=f"Revoke all sessions and personal tokens of {email}").click()
    dialog.get_by_role("button", name="Yes, revoke all").click()
    expect(dialog.locator("#admin-tokens-message")).to_contain_text(
        f"All live sessions and personal tokens of {email} revoked (1)", timeout=TIMEOUT_MS
    )
    assert me_status(api, session_token) == 401
    shot(page, artifacts, "admin-user-tokens-revoked")
