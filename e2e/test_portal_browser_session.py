"""Issue 14, item 5: a session per browser, not per tab.

A case link opened in a new tab (a new page of the same browser, a Ctrl-click on a worklist
row) shows the case without a second sign-in; a pasted URL in a browser that is not signed in
goes to sign-in and then back to that URL; signing out (or the API ending the session) in one
tab ends it in every tab of that browser; another browser is never signed in by it; `next`
never leaves the portal; a browser cookie planted before sign-in (by a page on another port of
the same host) is replaced at sign-in, so its holder cannot ride the session.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from e2e_pages import TIMEOUT_MS, expect_film, sign_in, sign_out
from e2e_pages import shot as page_shot
from e2e_stack import ACCOUNTS
from playwright.sync_api import Browser, BrowserContext, Page, expect
from reflex_socket import ReflexSocket, merged, redirects

COOKIE = "medsegtext_browser"
PASSWORD = "e2e-browser-session-1"
WORKLIST_LOAD = (
    "reflex___state____state.portal___state___auth____auth_state."
    "portal___state___worklist____worklist_state.load"
)


def new_user(api: Any, role: str = "clinician") -> tuple[str, dict[str, Any]]:
    email = f"e2e-tabs-{uuid.uuid4().hex[:8]}@example.org"
    return email, api.create_user(email, PASSWORD, role, full_name="E2E Tabs")


@pytest.fixture()
def other_context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """A second browser (its own cookies and tabs)."""
    ctx = browser.new_context(base_url=base_url, viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()


def expect_case(tab: Page, case_id: str) -> None:
    """The case page, signed in, with its image loaded (the media link works in this tab)."""
    expect(tab.locator("#case-image")).to_be_visible(timeout=TIMEOUT_MS)
    expect(tab).to_have_url(re.compile(rf"/cases/{case_id}"))
    expect(tab.locator("#signed-in-user")).to_be_visible()
    expect_film(tab)


def expect_sign_in_page(tab: Page) -> None:
    expect(tab.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
    expect(tab).to_have_url(re.compile(r"/login/?(\?.*)?$"))
    expect(tab.locator("#signed-in-user")).to_have_count(0)


def fill_sign_in(tab: Page, email: str, password: str) -> None:
    tab.get_by_label("Email").fill(email)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()


def shot(tab: Page, artifacts: Path, name: str) -> None:
    """A screenshot of a tab brought to the front (a background tab's screenshot can wait for
    a frame that headless Chromium does not paint)."""
    tab.bring_to_front()
    page_shot(tab, artifacts, name)


def click_then_reloaded(tab: Page, link: str) -> None:
    """Click a navigation link in a tab whose websocket still has the browser's old cookie: the
    portal sends it to sign-in, which reloads once (a new websocket with the browser's current
    cookie). Waits for that reload, so that what follows sees the page after it."""
    tab.evaluate("window.__before_reload = true")
    tab.get_by_role("link", name=link, exact=True).click()
    tab.wait_for_function("window.__before_reload === undefined", timeout=TIMEOUT_MS)


def browser_cookie(ctx: BrowserContext) -> str:
    return next(c["value"] for c in ctx.cookies() if c["name"] == COOKIE)


def test_case_links_open_signed_in_in_new_tabs(
    page: Page, done_case: dict[str, Any], artifacts: Path
) -> None:
    case_id = done_case["id"]
    sign_in(page, *ACCOUNTS["clinician"])

    # a case URL opened in a new tab of the same browser (a pasted link, a bookmark)
    tab = page.context.new_page()
    tab.goto(f"/cases/{case_id}")
    expect_case(tab, case_id)
    shot(tab, artifacts, "new-tab-case-signed-in")

    # a Ctrl-click on the worklist row opens the case in a new tab, signed in
    row_link = page.locator(f"a[href='/cases/{case_id}']").first
    expect(row_link).to_be_visible(timeout=TIMEOUT_MS)
    with page.context.expect_page() as opened:
        row_link.click(modifiers=["Control"])
    ctrl_tab = opened.value
    expect_case(ctrl_tab, case_id)
    shot(ctrl_tab, artifacts, "ctrl-click-case-signed-in")
    expect(page).to_have_url(re.compile(r"/$"))  # the worklist tab stayed where it was


def test_pasted_url_goes_to_sign_in_then_back_to_the_case(
    other_context: BrowserContext, done_case: dict[str, Any], artifacts: Path
) -> None:
    case_id = done_case["id"]
    tab = other_context.new_page()
    tab.goto(f"/cases/{case_id}?from=pasted")
    expect_sign_in_page(tab)
    expect(tab).to_have_url(re.compile(r"/login\?next="))
    expect(tab.get_by_text("Please sign in.")).to_be_visible()
    shot(tab, artifacts, "pasted-case-url-sign-in")
    fill_sign_in(tab, *ACCOUNTS["clinician"])
    expect_case(tab, case_id)
    expect(tab).to_have_url(re.compile(rf"/cases/{case_id}/?\?from=pasted$"))
    shot(tab, artifacts, "pasted-case-url-after-sign-in")


def test_sign_out_in_one_tab_signs_out_every_tab(
    page: Page, done_case: dict[str, Any], artifacts: Path
) -> None:
    sign_in(page, *ACCOUNTS["clinician"])
    tab_b = page.context.new_page()
    tab_b.goto("/account")
    expect(tab_b.locator("#signed-in-user")).to_be_visible(timeout=TIMEOUT_MS)
    expect(tab_b).to_have_url(re.compile(r"/account/?$"))

    sign_out(page)  # tab A
    tab_b.get_by_role("link", name="Worklist", exact=True).click()  # tab B's next step
    expect_sign_in_page(tab_b)
    shot(tab_b, artifacts, "signed-out-in-another-tab")
    # and a new tab of this browser is not signed in either
    tab_c = page.context.new_page()
    tab_c.goto(f"/cases/{done_case['id']}")
    expect_sign_in_page(tab_c)


def test_session_ended_by_the_api_ends_every_tab(page: Page, api: Any, artifacts: Path) -> None:
    email, user = new_user(api)
    sign_in(page, email, PASSWORD)
    tab_b = page.context.new_page()
    tab_b.goto("/account")
    expect(tab_b.locator("#signed-in-user")).to_be_visible(timeout=TIMEOUT_MS)

    ended = api.http.post(
        f"/api/admin/users/{user['id']}/tokens/revoke-all", json={}, headers=api.as_role("admin")
    )
    assert ended.status_code == 200 and ended.json()["revoked"] >= 1, ended.text

    page.get_by_role("link", name="Account").click()  # tab A meets the API's 401
    expect_sign_in_page(page)
    expect(page.get_by_text("Your session has ended")).to_be_visible()
    tab_b.get_by_role("link", name="Worklist", exact=True).click()
    expect_sign_in_page(tab_b)
    tab_c = page.context.new_page()
    tab_c.goto("/account")
    expect_sign_in_page(tab_c)
    shot(tab_c, artifacts, "api-ended-session-new-tab")


def test_another_browser_is_not_signed_in_by_this_ones_session(
    page: Page, other_context: BrowserContext, done_case: dict[str, Any], artifacts: Path
) -> None:
    sign_in(page, *ACCOUNTS["clinician"])
    other = other_context.new_page()
    other.goto(f"/cases/{done_case['id']}")
    expect_sign_in_page(other)
    assert browser_cookie(other_context) != browser_cookie(page.context)
    shot(other, artifacts, "second-browser-not-signed-in")
    # the first browser's new tab is signed in (so the refusal above is not a broken adoption)
    tab = page.context.new_page()
    tab.goto(f"/cases/{done_case['id']}")
    expect_case(tab, done_case["id"])


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://127.0.0.1:1/",
    ],
)
def test_next_never_leaves_the_portal(
    other_context: BrowserContext, base_url: str, target: str
) -> None:
    tab = other_context.new_page()
    tab.goto(f"/login?next={quote(target, safe='')}")
    expect_sign_in_page(tab)
    fill_sign_in(tab, *ACCOUNTS["reviewer"])
    expect(tab.locator("#signed-in-user")).to_be_visible(timeout=TIMEOUT_MS)
    expect(tab).to_have_url(f"{base_url}/")


def test_next_keeps_a_portal_page(other_context: BrowserContext, base_url: str) -> None:
    tab = other_context.new_page()
    tab.goto(f"/login?next={quote('/account?x=1', safe='')}")
    fill_sign_in(tab, *ACCOUNTS["reviewer"])
    expect(tab.locator("#signed-in-user")).to_be_visible(timeout=TIMEOUT_MS)
    expect(tab).to_have_url(re.compile(rf"^{re.escape(base_url)}/account/?\?x=1$"))


def test_a_cookie_planted_before_sign_in_does_not_ride_the_session(
    page: Page, base_url: str, api: Any, xray: Path, artifacts: Path
) -> None:
    """A page on another port of this host can set a cookie for the portal's host name (cookies
    ignore ports). Its holder knows that value; sign-in replaces it, and the old value opens
    nothing. The new value in a websocket of its own is a tab of the signed-in browser, and is
    signed in: the refusal is not a failure to adopt at all."""
    marker = f"FIX-{secrets.token_hex(4)}"
    email, _ = new_user(api)
    token = api.http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    mine = {"Authorization": f"Bearer {token.json()['token']}"}
    made = api.http.post(
        "/api/cases",
        headers=mine,
        data={"patient_ref": marker},
        files={"file": (xray.name, xray.read_bytes(), "image/png")},
    )
    assert made.status_code == 202, made.text

    planted = secrets.token_urlsafe(32)
    page.context.add_cookies(
        [
            {
                "name": COOKIE,
                "value": planted,
                "url": base_url,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    page.goto("/login")
    assert browser_cookie(page.context) == planted  # the portal kept the planted value
    sign_in(page, email, PASSWORD)
    expect(page.locator("main")).to_contain_text(marker, timeout=TIMEOUT_MS)
    shot(page, artifacts, "planted-cookie-signed-in")
    fresh = browser_cookie(page.context)
    assert fresh != planted, "sign-in kept the cookie value planted before it"

    attacker = ReflexSocket(base_url, cookies=f"{COOKIE}={planted}")
    try:
        updates = attacker.call(WORKLIST_LOAD, limit=10)
    finally:
        attacker.close()
    assert any(p.split("?")[0] == "/login" for p in redirects(updates)), updates
    text = str(merged(updates))
    assert marker not in text and email not in text

    same_browser = ReflexSocket(base_url, cookies=f"{COOKIE}={fresh}")
    try:
        updates = same_browser.call(WORKLIST_LOAD, limit=30, until=lambda got: marker in str(got))
    finally:
        same_browser.close()
    assert marker in str(merged(updates)), "a new tab of the signed-in browser is signed in"


def test_a_tab_open_before_another_signed_in_signs_in_with_its_browser(
    page: Page, api: Any, done_case: dict[str, Any], artifacts: Path
) -> None:
    """Tab B's websocket opened with the cookie the browser had before tab A signed in (sign-in
    replaces it). B signing in still binds its session to this browser (its case image loads);
    A's session, which B's sign-in replaced, is signed out at the API too (one session per
    browser), and A goes on in B's session."""
    clinician = api.http.get("/api/me", headers=api.as_role("clinician")).json()

    def live_sessions() -> int:
        r = api.http.get(
            f"/api/admin/users/{clinician['id']}/tokens",
            headers=api.as_role("admin"),
            params={"kind": "session", "limit": 1},
        )
        assert r.status_code == 200, r.text
        return int(r.json()["total"])

    tab_b = page.context.new_page()
    tab_b.goto("/login")
    expect_sign_in_page(tab_b)
    sign_in(page, *ACCOUNTS["clinician"])  # tab A
    with_a = live_sessions()
    fill_sign_in(tab_b, *ACCOUNTS["clinician"])
    expect(tab_b.locator("#signed-in-user")).to_be_visible(timeout=TIMEOUT_MS)
    assert live_sessions() == with_a, "A's session was not ended when B's replaced it"
    tab_b.goto(f"/cases/{done_case['id']}")
    expect_case(tab_b, done_case["id"])
    tab_b.close()  # one tab left: headless Chromium may not paint a background tab's screenshot
    click_then_reloaded(page, "Account")
    expect(page.locator("#signed-in-user")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"/account/?$"))
    shot(page, artifacts, "tab-a-after-tab-b-signed-in")


def test_a_signed_out_tab_takes_the_browsers_new_session(page: Page, artifacts: Path) -> None:
    """Tab B, signed in with A, is left behind when A signs out and in again (the browser's
    cookie changed under B's websocket). B's next step reloads the sign-in page once with the
    browser's current cookie and goes on signed in."""
    sign_in(page, *ACCOUNTS["reviewer"])
    tab_b = page.context.new_page()
    tab_b.goto("/account")
    expect(tab_b.locator("#signed-in-user")).to_be_visible(timeout=TIMEOUT_MS)
    sign_out(page)
    sign_in(page, *ACCOUNTS["reviewer"])
    click_then_reloaded(tab_b, "Worklist")
    expect(tab_b.locator("#signed-in-user")).to_be_visible(timeout=TIMEOUT_MS)
    expect(tab_b).to_have_url(re.compile(r"/$"))
    expect(tab_b.get_by_text("Loading cases")).to_have_count(0, timeout=TIMEOUT_MS)
    page.close()
    shot(tab_b, artifacts, "tab-b-took-the-new-session")
