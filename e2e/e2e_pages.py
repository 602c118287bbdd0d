"""Browser steps the tests share."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

TIMEOUT_MS = 30_000
DOWNLOAD_MS = 60_000
EXPORT_MS = 120_000  # a dataset export reads every reviewed case's files


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


def export_dataset(page: Page, artifacts: Path) -> None:
    """On the admin dashboard, click the dataset export as a person does, once the page has
    loaded its statistics (its events flow); the zip downloads by itself when the export is
    made. A refusal fails with the page's error, not a bare timeout, and leaves a screenshot."""
    expect(page.locator("#stat-cards")).to_be_visible(timeout=TIMEOUT_MS)
    outcome = page.locator("#export-message").or_(page.locator("#export-error"))
    try:
        with page.expect_download(timeout=EXPORT_MS) as info:
            page.get_by_role("button", name="Export reviewed cases as dataset").click()
            expect(outcome).to_be_visible(timeout=EXPORT_MS)
            error = page.locator("#export-error")
            assert error.count() == 0, f"the export was refused: {error.inner_text()}"
    except Exception:
        shot(page, artifacts, "export-failed")
        raise
    assert info.value.failure() is None, info.value.failure()
    expect(page.locator("#export-message")).to_contain_text("Exported")
