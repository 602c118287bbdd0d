"""An upload that fails after its file reached S3 leaves no object behind (issue 12: each
failed upload used to leave an orphan object with no row). The failures are real: the database
refuses the insert (a trigger), or the commit."""

from __future__ import annotations

import secrets

import pytest

from tests.backend.backend_testkit import Stack, png_bytes, upload_files
from tests.backend.db_refusal import is_postgres, refused_inserts


def bucket_keys(stack: Stack) -> set[str]:
    pages = stack.s3().get_paginator("list_objects_v2").paginate(Bucket=stack.settings.s3_bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


async def test_insert_refused_after_storing_leaves_no_object(stack: Stack, clinician) -> None:
    ref = f"REFUSE-{secrets.token_hex(4)}"
    before, cases = bucket_keys(stack), await stack.case_count()
    async with refused_inserts(stack, "cases", f"NEW.patient_ref = '{ref}'"):
        r = await stack.client.post(
            "/api/cases",
            headers=clinician[1],
            files=upload_files(png_bytes()),
            data={"patient_ref": ref},
        )
    assert r.status_code >= 500, r.text
    assert bucket_keys(stack) == before
    assert await stack.case_count() == cases


async def test_audit_row_refused_after_storing_leaves_no_object(stack: Stack, clinician) -> None:
    """The case row is written, then its audit row is refused."""
    before, cases = bucket_keys(stack), await stack.case_count()
    async with refused_inserts(stack, "audit_events", "NEW.action = 'case.upload'"):
        r = await stack.client.post(
            "/api/cases", headers=clinician[1], files=upload_files(png_bytes())
        )
    assert r.status_code >= 500, r.text
    assert bucket_keys(stack) == before
    assert await stack.case_count() == cases


async def test_commit_refused_after_storing_leaves_no_object(stack: Stack, clinician) -> None:
    """The insert succeeds; the COMMIT fails (a deferred constraint)."""
    if not is_postgres(stack):
        pytest.skip(
            "a refusal at COMMIT needs PostgreSQL (deferred constraint trigger); "
            "set DATABASE_URL=postgresql+asyncpg://..."
        )
    ref = f"REFUSE-{secrets.token_hex(4)}"
    before, cases = bucket_keys(stack), await stack.case_count()
    async with refused_inserts(stack, "cases", f"NEW.patient_ref = '{ref}'", at_commit=True):
        r = await stack.client.post(
            "/api/cases",
            headers=clinician[1],
            files=upload_files(png_bytes()),
            data={"patient_ref": ref},
        )
    assert r.status_code >= 500, r.text
    assert bucket_keys(stack) == before
    assert await stack.case_count() == cases
