"""Bad uploads: each is a 4xx with a message, and nothing is stored (no row, no S3 object)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.backend.backend_testkit import Stack, forged_huge_png, png_bytes, upload_files


def _truncated(sample: bytes) -> bytes:
    return sample[: len(sample) // 2]


BAD_FILES: list[tuple[str, Callable[[bytes], bytes], int, str]] = [
    ("empty file", lambda _: b"", 400, "empty"),
    ("not an image", lambda _: b"patient notes, plain text\n" * 20, 415, "not a PNG"),
    ("gif", lambda _: b"GIF89a" + b"\x00" * 64, 415, "GIF"),
    ("truncated png", _truncated, 422, "truncated"),
    ("20000x20000 png", lambda _: forged_huge_png(), 413, "20000x20000"),
]

BAD_FIELDS: list[tuple[dict[str, str], str]] = [
    ({"age": "abc"}, "age"),
    ({"age": "131"}, "age"),
    ({"priority": "x"}, "priority"),
    ({"sex": "unknown"}, "sex"),
    ({"acquired_at": "yesterday"}, "acquired_at"),
    ({"patient_ref": "x" * 65}, "patient_ref"),
]


async def _assert_nothing_stored(stack: Stack, before: tuple[int, int]) -> None:
    assert (await stack.case_count(), stack.object_count()) == before


async def _post(
    stack: Stack, headers: dict[str, str], content: bytes, **kwargs: Any
) -> tuple[int, dict[str, Any], tuple[int, int]]:
    before = (await stack.case_count(), stack.object_count())
    r = await stack.client.post(
        "/api/cases", headers=headers, files=upload_files(content), **kwargs
    )
    return r.status_code, r.json(), before


@pytest.mark.parametrize(
    ("name", "make", "status", "words"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
async def test_bad_files(
    stack: Stack,
    clinician,
    sample_png: bytes,
    name: str,
    make: Callable[[bytes], bytes],
    status: int,
    words: str,
) -> None:
    code, body, before = await _post(stack, clinician[1], make(sample_png))
    assert code == status, body
    assert words.lower() in body["detail"].lower()
    await _assert_nothing_stored(stack, before)


async def test_dicom_without_pixel_data(stack: Stack, clinician, shared_data: Path) -> None:
    data = (shared_data / "samples" / "dicom" / "pydicom-cr-32.dcm").read_bytes()
    code, body, before = await _post(stack, clinician[1], data)
    assert code == 422 and body["code"] == "no_pixel_data", body
    await _assert_nothing_stored(stack, before)


@pytest.mark.parametrize(("fields", "key"), BAD_FIELDS, ids=[k for _, k in BAD_FIELDS])
async def test_bad_fields(stack: Stack, clinician, fields: dict[str, str], key: str) -> None:
    code, body, before = await _post(stack, clinician[1], png_bytes(), data=fields)
    assert code == 400, body
    assert key in body["detail"]
    await _assert_nothing_stored(stack, before)


async def test_blank_optional_fields_are_accepted(stack: Stack, clinician) -> None:
    code, body, _ = await _post(
        stack,
        clinician[1],
        png_bytes(),
        data={"age": "", "sex": "", "priority": "", "acquired_at": "", "patient_ref": " "},
    )
    assert code == 202, body
    assert (body["age"], body["sex"], body["priority"], body["patient_ref"]) == (
        None,
        None,
        "routine",
        None,
    )


async def test_missing_file_part(stack: Stack, clinician) -> None:
    r = await stack.client.post(
        "/api/cases", headers=clinician[1], files={"other": ("a.png", png_bytes(), "image/png")}
    )
    assert r.status_code == 400 and "file" in r.json()["detail"]


async def test_oversized_upload(other_stack, clinician) -> None:
    async with other_stack(max_upload_bytes=20_000) as small:
        before = (await small.case_count(), small.object_count())
        # over the file limit, under the body limit: refused by the service with the limits
        r = await small.client.post(
            "/api/cases", headers=clinician[1], files=upload_files(png_bytes() + b"\0" * 30_000)
        )
        assert r.status_code == 413 and "limit" in r.json()["detail"], r.text
        # over the whole body limit: refused while reading the body
        r = await small.client.post(
            "/api/cases", headers=clinician[1], files=upload_files(b"\0" * (2 * 2**20))
        )
        assert r.status_code == 413 and r.json()["detail"], r.text
        await _assert_nothing_stored(small, before)
