"""Upload fuzzing: truncated, bit-flipped and hostile files, at the decoder and through the API.

Every hostile upload must be refused with a 4xx naming the reason, nothing may be stored (no case
row, no S3 object), and memory must stay bounded: the decoder's peak RSS is measured in a fresh
process (C codecs allocate outside tracemalloc), the API's Python allocations with tracemalloc.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.http.errors import INPUT_ERROR_STATUS
from inference.decode import decode
from inference.errors import InputError
from tests.backend.backend_testkit import Stack, png_bytes, upload_files
from tests.security.hostile_files import DICOM_SAMPLE, HOSTILE, JPEG_SAMPLE, PNG_SAMPLE, write_all
from tests.shared_data import SHARED_DATA, require

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [PNG_SAMPLE, JPEG_SAMPLE, DICOM_SAMPLE, DICOM_SAMPLE.with_name("nccid-dx-1024.dcm")]
QATA = SHARED_DATA / "qata-cov19" / "images"
FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
RSS_GROWTH_BOUND_KIB = 96 * 1024  # reading the largest (30 MiB) file is most of it
EXPECTED = {name: code for name, _, code in HOSTILE}
EXPECTED["dicom element declaring 4 GiB"] = "no_pixel_data"  # the element swallows the pixels


def _samples() -> list[bytes]:
    require(*SAMPLES, QATA, what="the sample films")
    return [p.read_bytes() for p in [*SAMPLES, *sorted(QATA.glob("*.png"))[:2]]]


def _decodes_or_refuses(data: bytes) -> np.ndarray | None:
    """The property every input must have: a clean image or an InputError, nothing else."""
    try:
        image = decode(data)
    except InputError as e:
        assert e.message and e.code in INPUT_ERROR_STATUS
        return None
    assert image.pixels.shape == (image.height, image.width)
    assert np.isfinite(image.pixels).all()
    assert 0.0 <= float(image.pixels.min()) <= float(image.pixels.max()) <= 1.0
    return image.pixels


@pytest.fixture(scope="module")
def samples() -> list[bytes]:
    return _samples()


@FUZZ
@given(which=st.integers(0, 5), cut=st.floats(0, 1, exclude_max=True))
def test_truncated_samples_never_decode_to_a_different_image(
    samples: list[bytes], which: int, cut: float
) -> None:
    data = samples[which % len(samples)]
    pixels = _decodes_or_refuses(data[: int(len(data) * cut)])
    if pixels is not None:  # only a cut in the trailer may still decode, to the same image
        assert np.array_equal(pixels, decode(data).pixels)


@pytest.mark.parametrize("offset", [0, 1, 2, 7, 8, 16, 33, 127, 128, 131, 132, 200, -12, -2, -1])
def test_truncated_at_format_boundaries(samples: list[bytes], offset: int) -> None:
    for data in samples:
        pixels = _decodes_or_refuses(data[:offset])
        if pixels is not None:
            assert np.array_equal(pixels, decode(data).pixels)


@FUZZ
@given(which=st.integers(0, 5), where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_bit_flips_decode_cleanly_or_are_refused(
    samples: list[bytes], which: int, where: float, bit: int
) -> None:
    data = bytearray(samples[which % len(samples)])
    data[int(len(data) * where)] ^= 1 << bit
    _decodes_or_refuses(bytes(data))


@FUZZ
@given(
    junk=st.binary(min_size=0, max_size=4096),
    head=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"\x00" * 128 + b"DICM"]),
)
def test_random_bytes_behind_a_magic_number(head: bytes, junk: bytes) -> None:
    _decodes_or_refuses(head + junk)


@pytest.mark.slow
def test_hostile_files_refused_with_bounded_memory(tmp_path: Path) -> None:
    """Every bomb, polyglot and huge header, decoded in a fresh process whose peak RSS must not
    grow by more than ~3x the largest file (a bomb would cost hundreds of MiB to GiBs)."""
    require(DICOM_SAMPLE, what="the sample DICOM")
    write_all(tmp_path)
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests/security/hostile_files.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(run.stdout)
    got = {name: r["code"] for name, r in report["results"].items()}
    assert got == EXPECTED, json.dumps(report["results"], indent=1)
    assert all(len(r["message"]) > 20 for r in report["results"].values())
    assert report["peak_rss_growth_kib"] < RSS_GROWTH_BOUND_KIB, report["peak_rss_growth_kib"]


async def _post_refused(
    stack: Stack, headers: dict[str, str], **request: Any
) -> tuple[int, dict[str, Any], int]:
    """POST /api/cases; returns status, body and the traced Python peak (bytes). Asserts that
    nothing was stored when the upload was refused."""
    before = (await stack.case_count(), stack.object_count())
    tracemalloc.start()
    try:
        r = await stack.client.post("/api/cases", headers=headers, **request)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if r.status_code >= 400:
        assert (await stack.case_count(), stack.object_count()) == before, r.text
    return r.status_code, r.json(), peak


@pytest.mark.slow
@pytest.mark.parametrize(("name", "build", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_uploads_through_the_api(
    stack: Stack, clinician: Any, name: str, build: Any, code: str
) -> None:
    require(DICOM_SAMPLE, what="the sample DICOM")
    data = build()
    status, body, peak = await _post_refused(
        stack, clinician[1], files=upload_files(data, "chest.png", "image/png")
    )
    assert status == INPUT_ERROR_STATUS[EXPECTED[name]], body
    assert body["code"] == EXPECTED[name] and len(body["detail"]) > 20, body
    assert peak < 5 * len(data) + 32 * 2**20, f"{peak / 2**20:.0f} MiB traced"


@pytest.mark.slow
async def test_mutated_samples_through_the_api(stack: Stack, clinician: Any) -> None:
    """24 seeded truncations and bit flips of the real samples: 202, or a 4xx storing nothing."""
    rng = random.Random(7)
    answers: dict[int, int] = {}
    for i, data in enumerate(_samples() * 4):
        mutated = bytearray(data[: rng.randrange(len(data))] if i % 2 else data)
        if i % 2 == 0:
            mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        status, body, _ = await _post_refused(
            stack, clinician[1], files=upload_files(bytes(mutated))
        )
        assert status == 202 or (400 <= status < 500 and body["detail"]), body
        answers[status] = answers.get(status, 0) + 1
    assert set(answers) - {202} <= {400, 413, 415, 422}, answers
    assert sum(n for s, n in answers.items() if s != 202) >= 12, answers  # every cut is refused


def _multipart(parts: list[tuple[str, str, bytes]], boundary: str = "xyzzy") -> bytes:
    """Raw multipart/form-data: (headers without the trailing CRLF, name, body) per part."""
    out = b""
    for headers, _, body in parts:
        out += f"--{boundary}\r\n{headers}\r\n\r\n".encode("latin-1") + body + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def _file_part(filename: str = "chest.png", extra: str = "") -> tuple[str, str, bytes]:
    return (
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: image/png{extra}",
        "file",
        png_bytes(32, 32),
    )


HUGE_MULTIPART: list[tuple[str, bytes]] = [
    ("1 MiB part header", _multipart([_file_part(extra="\r\nX-Junk: " + "A" * 2**20)])),
    ("64 KiB filename", _multipart([_file_part("A" * 65536 + ".png")])),
    (
        "5000 form fields",
        _multipart(
            [(f'Content-Disposition: form-data; name="f{i}"', "", b"x") for i in range(5000)]
            + [_file_part()]
        ),
    ),
    (
        "10 MiB notes field",
        _multipart(
            [('Content-Disposition: form-data; name="notes"', "", b"n" * 10 * 2**20), _file_part()]
        ),
    ),
    ("no closing boundary", _multipart([_file_part()])[:-12]),
    ("part without headers end", b'--xyzzy\r\nContent-Disposition: form-data; name="file"'),
]


@pytest.mark.parametrize(("name", "body"), HUGE_MULTIPART, ids=[m[0] for m in HUGE_MULTIPART])
async def test_hostile_multipart_bodies(
    stack: Stack, clinician: Any, name: str, body: bytes
) -> None:
    headers = {**clinician[1], "Content-Type": "multipart/form-data; boundary=xyzzy"}
    status, answer, peak = await _post_refused(stack, headers, content=body)
    assert 400 <= status < 500 and answer["detail"], (status, answer)
    assert peak < 5 * len(body) + 32 * 2**20


async def test_valid_upload_still_accepted(stack: Stack, clinician: Any) -> None:
    """The checks above refuse nothing real: each sample is accepted (202)."""
    for data in _samples():
        r = await stack.client.post("/api/cases", headers=clinician[1], files=upload_files(data))
        assert r.status_code == 202, r.text
