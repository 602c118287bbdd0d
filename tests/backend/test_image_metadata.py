"""PNG and JPEG uploads are stored without their metadata (issue 12): PHI planted in every
metadata place of each format is uploaded through the API, and the stored object, the image
download and the preview are scanned for it; the pixels must be exactly the upload's."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from backend.cases.strip_metadata import strip_jpeg, strip_png, without_metadata
from inference.decode import decode
from inference.errors import InputError
from inference.image import DEFAULT_LIMITS
from tests.backend.backend_testkit import Stack, png_bytes, upload_files
from tests.backend.phi_images import (
    PhiImage,
    chunk_kinds,
    jpeg_markers,
    phi_jpeg,
    phi_png,
    png_chunk,
    surviving,
)

PNG_KEPT = [b"IHDR", b"sBIT", b"pHYs", b"IDAT", b"IEND"]  # of phi_png's chunks
JFIF, EXIF, ADOBE, SOS = 0xE0, 0xE1, 0xEE, 0xDA


def raw_pixels(data: bytes) -> np.ndarray:
    """What Pillow decodes, before our grey conversion or any EXIF turn."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im)


def assert_same_picture(stored: bytes, original: bytes) -> None:
    assert np.array_equal(raw_pixels(stored), raw_pixels(original))
    assert np.array_equal(decode(stored).pixels, decode(original).pixels)


async def upload(
    stack: Stack, headers: dict[str, str], image: PhiImage, name: str
) -> tuple[dict[str, Any], bytes]:
    r = await stack.client.post("/api/cases", headers=headers, files=upload_files(image.data, name))
    assert r.status_code == 202, r.text
    created = dict(r.json())
    case = await stack.get_case(created["id"])
    assert case is not None
    return created, stack.get_object(case.image_key)


async def assert_served_clean(
    stack: Stack, headers: dict[str, str], case_id: str, stored: bytes, planted: list[str]
) -> None:
    image = await stack.client.get(f"/api/cases/{case_id}/image", headers=headers)
    assert image.status_code == 200 and image.content == stored
    assert surviving(planted, image.content) == []
    preview = await stack.client.get(f"/api/cases/{case_id}/preview", headers=headers)
    assert preview.status_code == 200 and surviving(planted, preview.content) == []
    assert chunk_kinds(preview.content) == [b"IHDR", b"IDAT", b"IEND"]


async def test_png_text_exif_time_and_icc_chunks_are_not_stored(stack: Stack, clinician) -> None:
    png = phi_png()
    assert surviving(png.planted, png.data) == png.planted
    created, stored = await upload(stack, clinician[1], png, "John_Doe.png")

    assert surviving(png.planted, stored) == []
    assert chunk_kinds(stored) == PNG_KEPT  # no tEXt, zTXt, iTXt, eXIf, tIME, iCCP, prVt, gAMA
    assert_same_picture(stored, png.data)
    assert created["content_sha256"] == hashlib.sha256(stored).hexdigest()
    assert (created["width"], created["height"]) == (96, 72)
    await assert_served_clean(stack, clinician[1], created["id"], stored, png.planted)


@pytest.mark.parametrize(("mode", "orientation"), [("L", None), ("RGB", 6)])
async def test_jpeg_app_segments_comments_and_appended_images_are_not_stored(
    stack: Stack, clinician, mode: str, orientation: int | None
) -> None:
    jpeg = phi_jpeg(mode, orientation)
    assert surviving(jpeg.planted, jpeg.data) == jpeg.planted
    created, stored = await upload(stack, clinician[1], jpeg, "DOE_JOHN.jpg")

    assert surviving(jpeg.planted, stored) == []
    markers = jpeg_markers(stored)
    assert [m for m in markers if 0xE0 <= m <= 0xEF or m == 0xFE] == (
        [JFIF] if orientation is None else [JFIF, EXIF]
    )
    assert markers[-1] == SOS and stored.count(b"\xff\xd8") == 1  # the appended JPEG is gone
    # the scans are the upload's, byte for byte, up to its first image's end
    scans = jpeg.data.index(b"\xff\xda")
    assert (
        stored[stored.index(b"\xff\xda") :]
        == jpeg.data[scans : jpeg.data.index(b"\xff\xd9", scans) + 2]
    )
    assert_same_picture(stored, jpeg.data)
    with Image.open(io.BytesIO(stored)) as im:
        exif = im.getexif()
        assert dict(exif) == ({} if orientation is None else {0x0112: orientation})
        assert "jfif" in im.info and not {"comment", "xmp", "icc_profile", "photoshop"} & set(
            im.info
        )
    size = (64, 80) if orientation is None else (80, 64)  # turned as EXIF says, before and after
    assert (created["width"], created["height"]) == size
    assert created["content_sha256"] == hashlib.sha256(stored).hexdigest()
    await assert_served_clean(stack, clinician[1], created["id"], stored, jpeg.planted)


def test_xmp_only_orientation_is_kept_as_exif() -> None:
    """Pillow turns a JPEG by XMP tiff:Orientation when it has no EXIF: the stored file must
    turn the same way without the XMP."""
    buf = io.BytesIO()
    Image.fromarray(np.arange(48 * 32, dtype=np.uint16).reshape(32, 48).astype(np.uint8)).save(
        buf,
        "JPEG",
        xmp=b'<x:xmpmeta><rdf:Description tiff:Orientation="8" dc:creator="DOE"/></x:xmpmeta>',
    )
    original = buf.getvalue()
    image = decode(original)
    assert image.meta.get("exif_orientation") == "8" and (image.width, image.height) == (32, 48)
    stored = without_metadata(original, image, DEFAULT_LIMITS)
    assert b"xmpmeta" not in stored and b"DOE" not in stored
    assert np.array_equal(decode(stored).pixels, image.pixels)


def test_adobe_segment_of_a_cmyk_jpeg_is_kept() -> None:
    """APP14 Adobe says how CMYK/YCCK scans are coded: without it the colours change."""
    buf = io.BytesIO()
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).convert("CMYK").save(
        buf, "JPEG", comment=b"PLANTED-COM"
    )
    original = buf.getvalue()
    stored = without_metadata(original, decode(original), DEFAULT_LIMITS)
    assert ADOBE in jpeg_markers(stored) and b"PLANTED" not in stored
    assert_same_picture(stored, original)


def test_kept_png_chunks_have_their_spec_sizes() -> None:
    png = phi_png()
    stripped = strip_png(png.data)
    assert b"gAMA" not in chunk_kinds(stripped)  # 4 bytes of gamma plus text: dropped
    # a palette image keeps its PLTE and tRNS (they are its pixels' colours)...
    buf = io.BytesIO()
    rng = np.random.default_rng(4)
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=16
    ).save(buf, "PNG", transparency=3)
    palette = buf.getvalue()
    assert chunk_kinds(strip_png(palette)) == [b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"]
    # ...an RGB image's PLTE is only a suggestion, able to carry 768 bytes of anything
    rgb = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(rgb, "PNG")
    at = rgb.getvalue().index(b"IDAT") - 4
    hinted = rgb.getvalue()[:at] + png_chunk(b"PLTE", b"PLANTED-PLTE") + rgb.getvalue()[at:]
    assert chunk_kinds(strip_png(hinted)) == [b"IHDR", b"IDAT", b"IEND"]
    assert_same_picture(without_metadata(hinted, decode(hinted), DEFAULT_LIMITS), hinted)
    assert strip_png(stripped) == stripped and strip_jpeg(
        strip_jpeg(phi_jpeg().data)
    ) == strip_jpeg(phi_jpeg().data)  # stripping twice changes nothing more


def test_a_file_whose_stripped_pixels_differ_is_refused() -> None:
    """The stripped file is decoded again and must match the upload's decoded pixels; a
    mismatch (here: checked against another picture) is refused, never stored."""
    other = decode(png_bytes(96, 72, value=7))  # a PNG of the same size, other pixels
    with pytest.raises(InputError) as refused:
        without_metadata(phi_png().data, other, DEFAULT_LIMITS)
    assert refused.value.code == "unsupported_format"
    assert "without its metadata" in refused.value.message


def _samples() -> list[bytes]:
    return [phi_png().data, phi_jpeg().data, phi_jpeg("RGB", 3).data]


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(which=st.integers(0, 2), where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_bit_flipped_uploads_strip_to_the_same_pixels_or_are_refused(
    which: int, where: float, bit: int
) -> None:
    data = bytearray(_samples()[which])
    data[int(len(data) * where)] ^= 1 << bit
    try:
        image = decode(bytes(data))
    except InputError:
        return
    try:
        stored = without_metadata(bytes(data), image, DEFAULT_LIMITS)
    except InputError as e:
        assert e.code == "unsupported_format"
        return
    assert np.array_equal(decode(stored).pixels, image.pixels)
