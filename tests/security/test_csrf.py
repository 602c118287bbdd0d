"""Cross-site request forgery: writes authenticated by the session cookie must come from the
API's own origin (or a configured one), and JSON endpoints take only JSON.

What the probe did: a page on the same host but another port (same-site, so the SameSite=Lax
cookie went along) made a signed-in browser reject a case (JSON sent as text/plain, which needs
no CORS preflight), upload a STAT case (multipart) and sign out. The requests below are what such
a browser sends: the cookie, plus Origin and Sec-Fetch-Site naming the other page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.backend.backend_testkit import PASSWORD, Stack, png_bytes, upload_files

OWN_ORIGIN = "http://testserver.local"  # AsyncTestClient's base URL
OTHER_PORT = "http://testserver.local:3001"
SAME_SITE_PAGE = {"Origin": OTHER_PORT, "Sec-Fetch-Site": "same-site"}
CROSS_SITE_PAGE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
OLD_BROWSER_PAGE = {"Origin": OTHER_PORT}  # Origin but no Fetch Metadata
TEXT_PLAIN = {"Content-Type": "text/plain;charset=UTF-8"}


async def _signed_in_browser(stack: Stack, role: str) -> AsyncIterator[Stack]:
    """The test client keeps the session cookie from a sign-in, as a browser does."""
    _, email = await stack.create_user(role)
    stack.client.cookies.clear()
    r = await stack.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200 and stack.client.cookies.get("medsegtext_session")
    try:
        yield stack
    finally:
        stack.client.cookies.clear()


@pytest.fixture
async def reviewer_browser(stack: Stack) -> AsyncIterator[Stack]:
    async for s in _signed_in_browser(stack, "reviewer"):
        yield s


@pytest.fixture
async def clinician_browser(stack: Stack) -> AsyncIterator[Stack]:
    async for s in _signed_in_browser(stack, "clinician"):
        yield s


@pytest.fixture
async def done_case(stack: Stack, clinician: Any) -> str:
    r = await stack.client.post(
        "/api/cases", headers=clinician[1], files=upload_files(png_bytes(48, 40))
    )
    assert r.status_code == 202, r.text
    await stack.finish_case(r.json()["id"])
    return str(r.json()["id"])


async def _reviews(stack: Stack, admin: Any, case_id: str) -> list[Any]:
    r = await stack.client.get(f"/api/cases/{case_id}", headers=admin[1])
    return list(r.json()["reviews"])


@pytest.mark.parametrize(
    "page",
    [SAME_SITE_PAGE, CROSS_SITE_PAGE, OLD_BROWSER_PAGE, {}],
    ids=["same-site", "cross-site", "origin-only", "no-origin"],
)
async def test_forged_reject_is_refused(
    reviewer_browser: Stack, admin: Any, done_case: str, page: dict[str, str]
) -> None:
    s = reviewer_browser
    for content_type in ({}, TEXT_PLAIN):  # a JSON fetch (preflighted) or a "simple" request
        r = await s.client.post(
            f"/api/cases/{done_case}/review",
            headers={**page, **content_type},
            content=b'{"decision": "reject", "comment": "forged"}',
        )
        assert r.status_code in (403, 415), r.text
        assert r.json()["detail"]
    assert await _reviews(s, admin, done_case) == []


async def test_forged_reject_names_the_reason(reviewer_browser: Stack, done_case: str) -> None:
    r = await reviewer_browser.client.post(
        f"/api/cases/{done_case}/review",
        headers={**SAME_SITE_PAGE, "Content-Type": "application/json"},
        json={"decision": "reject"},
    )
    assert r.status_code == 403, r.text
    assert "origin" in r.json()["detail"].lower()


async def test_forged_stat_upload_is_refused(clinician_browser: Stack) -> None:
    s = clinician_browser
    before, objects = await s.case_count(), s.object_count()
    for page in (SAME_SITE_PAGE, OLD_BROWSER_PAGE, {}):
        r = await s.client.post(
            "/api/cases",
            headers=page,
            files=upload_files(png_bytes()),
            data={"priority": "stat", "patient_ref": "forged"},
        )
        assert r.status_code == 403, r.text
    assert await s.case_count() == before and s.object_count() == objects


async def test_forged_sign_out_is_refused(clinician_browser: Stack) -> None:
    s = clinician_browser
    r = await s.client.post("/api/auth/logout", headers=SAME_SITE_PAGE)
    assert r.status_code == 403, r.text
    assert (await s.client.get("/api/me")).status_code == 200  # still signed in


async def test_own_origin_writes_with_the_cookie(
    reviewer_browser: Stack, admin: Any, done_case: str
) -> None:
    """The docs page (same origin) and browsers without Fetch Metadata but with Origin."""
    s = reviewer_browser
    r = await s.client.post(
        f"/api/cases/{done_case}/review",
        headers={"Sec-Fetch-Site": "same-origin"},
        json={"decision": "accept"},
    )
    assert r.status_code == 201, r.text
    r = await s.client.post(
        f"/api/cases/{done_case}/review",
        headers={"Origin": OWN_ORIGIN},
        json={"decision": "edit", "findings_text": "No lesion."},
    )
    assert r.status_code == 201, r.text
    assert len(await _reviews(s, admin, done_case)) == 2
    r = await s.client.post("/api/auth/logout", headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 204


async def test_configured_origin_writes_with_the_cookie(other_stack: Any) -> None:
    portal = "https://portal.example.org"
    async with other_stack(cors_origins=(portal,)) as s:
        async for browser in _signed_in_browser(s, "clinician"):
            ok = await browser.client.post(
                "/api/auth/tokens",
                json={"name": "from-portal"},
                headers={"Origin": portal, "Sec-Fetch-Site": "cross-site"},
            )
            assert ok.status_code == 201, ok.text
            refused = await browser.client.post(
                "/api/auth/tokens", json={"name": "x"}, headers=SAME_SITE_PAGE
            )
            assert refused.status_code == 403, refused.text


async def test_safe_requests_need_no_origin(clinician_browser: Stack) -> None:
    r = await clinician_browser.client.get("/api/me", headers=SAME_SITE_PAGE)
    assert r.status_code == 200


async def test_bearer_clients_need_no_origin(stack: Stack, reviewer: Any, done_case: str) -> None:
    """API clients authenticate with a header a page cannot set cross-origin."""
    r = await stack.client.post(
        f"/api/cases/{done_case}/review", headers=reviewer[1], json={"decision": "accept"}
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_json_endpoints_take_only_json(
    stack: Stack, clinician: Any, content_type: str | None
) -> None:
    """For every caller, bearer included: 415 before the body is read."""
    headers = dict(clinician[1])
    if content_type:
        headers["Content-Type"] = content_type
    r = await stack.client.post("/api/auth/tokens", headers=headers, content=b'{"name": "sneaky"}')
    assert r.status_code == 415, r.text
    assert "application/json" in r.json()["detail"]
    listed = await stack.client.get("/api/auth/tokens", headers=clinician[1])
    assert all(t["name"] != "sneaky" for t in listed.json())
    login = await stack.client.post(
        "/api/auth/login",
        headers={"Content-Type": "text/plain"},
        content=b'{"email": "a@b.c", "password": "x"}',
    )
    assert login.status_code == 415, login.text


async def test_json_with_charset_and_suffix_types_is_json(stack: Stack, clinician: Any) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        r = await stack.client.post(
            "/api/auth/tokens",
            headers={**clinician[1], "Content-Type": content_type},
            content=b'{"name": "typed"}',
        )
        assert r.status_code == 201, (content_type, r.text)
