"""Browser steps the tests share."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

TIMEOUT_MS = 30_000
DOWNLOAD_MS = 60_000


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-user")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"/$"))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)


def shot(page: Page, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def expect_film(page: Page) -> None:
    """The case viewer has drawn its film (assets/viewer.js loaded the /media link)."""
    expect(page.locator("#case-viewer")).to_have_attribute(
        "data-state", "ready", timeout=TIMEOUT_MS
    )


def shot_of(page: Page, selector: str, artifacts: Path, name: str) -> Path:
    """A screenshot of one part of the page (the viewer, where the full page would be small)."""
    path = artifacts / f"{name}.png"
    page.locator(selector).screenshot(path=str(path))
    return path


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
