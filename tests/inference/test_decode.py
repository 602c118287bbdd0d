import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image, ImageFile
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    BasicTextSRStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

from inference.decode import decode, sniff_format
from inference.errors import InputError
from inference.image import DecodedImage, Limits

SAMPLES = Path("samples")
NIH_PNG = SAMPLES / "images" / "nih-00000001_000.png"
PADCHEST_JPG = SAMPLES / "images" / "padchest-16747_3_1.jpg"
DX_DCM = SAMPLES / "dicom" / "nccid-dx-1024.dcm"
OT_DCM = SAMPLES / "dicom" / "nccid-ot-512.dcm"
CR_DCM = SAMPLES / "dicom" / "pydicom-cr-32.dcm"


# --- builders ----------------------------------------------------------------------------------


def png_bytes(im: Image.Image, **save_args) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **save_args)
    return buf.getvalue()


def jpeg_bytes(im: Image.Image, **save_args) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95, **save_args)
    return buf.getvalue()


def dicom_bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def make_dicom(
    pixels: np.ndarray | None,
    *,
    modality: str = "DX",
    sop_class: str = DigitalXRayImageStorageForPresentation,
    photometric: str = "MONOCHROME2",
    **attrs: object,
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "SECRET-123"
    if pixels is not None:
        bits = pixels.dtype.itemsize * 8
        ds.Rows, ds.Columns = pixels.shape[:2]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
        ds.BitsAllocated = bits
        ds.BitsStored = bits
        ds.HighBit = bits - 1
        ds.PixelRepresentation = 0
        ds.PixelData = pixels.tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def cr_with_pixels(shared_data: Path, photometric: str) -> tuple[bytes, np.ndarray]:
    """The CR sample (12-bit, window 2048/4096) with a known ramp put in as its pixels."""
    ds = pydicom.dcmread(shared_data / CR_DCM)
    ramp = (np.arange(32 * 32, dtype=np.uint16) * 4).reshape(32, 32)  # 0..4092
    ds.PixelData = ramp.tobytes()
    ds["PixelData"].VR = "OW"
    ds.PhotometricInterpretation = photometric
    return dicom_bytes(ds), ramp


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR (with a correct CRC) claims width x height."""
    data = bytearray(png_bytes(Image.new("L", (1, 1))))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def expect(code: str, data: bytes, limits: Limits | None = None) -> InputError:
    with pytest.raises(InputError) as info:
        decode(data) if limits is None else decode(data, limits)
    assert info.value.code == code, info.value.message
    assert str(info.value) == info.value.message
    return info.value


def assert_image(img: DecodedImage, fmt: str, width: int, height: int) -> None:
    assert img.format == fmt
    assert (img.width, img.height) == (width, height)
    assert img.pixels.shape == (height, width)
    assert img.pixels.dtype == np.float32
    assert float(img.pixels.min()) >= 0.0 and float(img.pixels.max()) <= 1.0
    assert float(img.pixels.std()) > 0.05  # a real picture, not a blank


# --- real files --------------------------------------------------------------------------------


def test_nih_png_matches_its_8_bit_values(shared_data):
    data = (shared_data / NIH_PNG).read_bytes()
    img = decode(data)
    assert_image(img, "png", 512, 512)
    assert img.bits == 8
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32) / 255
    np.testing.assert_array_equal(img.pixels, expected)


def test_padchest_rgb_jpeg_becomes_luminance(shared_data):
    data = (shared_data / PADCHEST_JPG).read_bytes()
    img = decode(data)
    assert_image(img, "jpeg", 1036, 885)
    assert img.meta["mode"] == "RGB"
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32) / 255
    assert np.abs(img.pixels - expected).max() <= 1 / 255 + 1e-6  # Pillow rounds to uint8


@pytest.mark.parametrize(("name", "width", "modality"), [(DX_DCM, 1024, "DX"), (OT_DCM, 512, "OT")])
def test_nccid_dicom_is_min_max_scaled(shared_data, name, width, modality):
    data = (shared_data / name).read_bytes()
    img = decode(data)
    assert_image(img, "dicom", width, width)
    assert img.bits == 8
    stored = pydicom.dcmread(io.BytesIO(data)).pixel_array.astype(np.float32)
    expected = (stored - stored.min()) / (stored.max() - stored.min())
    np.testing.assert_allclose(img.pixels, expected, atol=1e-6)
    assert img.meta["modality"] == modality
    assert img.meta["photometric_interpretation"] == "MONOCHROME2"
    assert img.meta["transfer_syntax"] == "Implicit VR Little Endian"
    assert img.meta["voi"] == "minmax"


def test_cr_sample_without_pixels_is_refused(shared_data):
    err = expect("no_pixel_data", (shared_data / CR_DCM).read_bytes())
    assert "32x32" in err.message


def test_qata_pngs_decode_exactly(shared_data):
    paths = sorted((shared_data / "qata-cov19" / "images").glob("*.png"))[:3]
    assert paths
    for path in paths:
        img = decode(path.read_bytes())
        assert_image(img, "png", 224, 224)
        expected = np.asarray(Image.open(path), dtype=np.float32) / 255
        np.testing.assert_array_equal(img.pixels, expected)


def test_sniff_format_of_samples(shared_data):
    assert sniff_format((shared_data / NIH_PNG).read_bytes()) == "png"
    assert sniff_format((shared_data / PADCHEST_JPG).read_bytes()) == "jpeg"
    assert sniff_format((shared_data / DX_DCM).read_bytes()) == "dicom"


def test_meta_holds_no_patient_data():
    ramp = np.arange(64, dtype=np.uint8).reshape(8, 8)
    img = decode(dicom_bytes(make_dicom(ramp)))
    assert all(isinstance(v, str) for v in img.meta.values())
    assert not any("Doe" in v or "SECRET" in v for v in img.meta.values())
    assert img.meta["sop_class"] == "Digital X-Ray Image Storage - For Presentation"


# --- PNG / JPEG variants -----------------------------------------------------------------------


def test_16_bit_grayscale_png_uses_the_full_16_bit_range():
    values = np.array([[0, 1000, 65535], [32768, 1, 2]], dtype=np.uint16)
    img = decode(png_bytes(Image.fromarray(values)))
    assert img.bits == 16
    assert (img.width, img.height) == (3, 2)
    np.testing.assert_allclose(img.pixels, values / 65535, rtol=1e-6)
    assert img.pixels[0, 2] == 1.0


def test_rgba_png_drops_alpha_and_takes_luminance():
    arr = np.array([[[200, 100, 50, 0], [128, 128, 128, 255]]], dtype=np.uint8)
    img = decode(png_bytes(Image.fromarray(arr, "RGBA")))
    assert img.meta["mode"] == "RGBA"
    expected = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255
    np.testing.assert_allclose(img.pixels, [[expected, 128 / 255]], rtol=1e-5)


def test_palette_png_maps_through_its_palette():
    im = Image.fromarray(np.array([[0, 1, 2]], dtype=np.uint8), "P")
    im.putpalette([0, 0, 0, 255, 255, 255, 10, 20, 30])
    img = decode(png_bytes(im))
    assert img.meta["mode"] == "P"
    third = (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255
    np.testing.assert_allclose(img.pixels, [[0.0, 1.0, third]], rtol=1e-5)


def test_gray_alpha_png_keeps_the_grey_value():
    im = Image.fromarray(np.array([[[77, 0], [200, 255]]], dtype=np.uint8), "LA")
    img = decode(png_bytes(im))
    np.testing.assert_allclose(img.pixels, [[77 / 255, 200 / 255]], rtol=1e-6)


def test_jpeg_exif_orientation_is_applied():
    stored = np.zeros((20, 40), dtype=np.uint8)  # 40 wide, 20 high; left half white
    stored[:, :20] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored rotated 90 degrees clockwise: left edge goes on top
    img = decode(jpeg_bytes(Image.fromarray(stored), exif=exif.tobytes()))
    assert (img.width, img.height) == (20, 40)
    assert img.meta["exif_orientation"] == "6"
    assert img.pixels[:16].mean() > 0.95
    assert img.pixels[-16:].mean() < 0.05


# --- DICOM display pipeline --------------------------------------------------------------------


def test_monochrome1_is_inverted_relative_to_monochrome2(shared_data):
    m1_bytes, ramp = cr_with_pixels(shared_data, "MONOCHROME1")
    m2_bytes, _ = cr_with_pixels(shared_data, "MONOCHROME2")
    m1, m2 = decode(m1_bytes), decode(m2_bytes)
    assert m2.bits == 12 and m2.meta["voi"] == "window" and m2.meta["modality"] == "CR"
    # PS3.3 C.11.2.1.2 LINEAR window, centre 2048, width 4096
    linear = np.clip((ramp.astype(np.float64) - 2047.5) / 4095 + 0.5, 0, 1)
    np.testing.assert_allclose(m2.pixels, linear, atol=1e-6)
    np.testing.assert_allclose(m1.pixels, 1.0 - m2.pixels, atol=1e-6)
    assert m2.pixels[0, 0] == 0.0 and m1.pixels[0, 0] == 1.0
    # window centre 2048 (stored value 2048 = ramp index 512) shows as mid grey
    assert m2.pixels.flat[512] == pytest.approx(0.5, abs=1e-3)
    assert np.all(np.diff(m2.pixels.ravel()) >= 0)  # the ramp stays a ramp


def test_rescale_is_applied_before_the_window():
    stored = np.array([[0, 864, 1064, 1264, 4095]], dtype=np.uint16)  # HU -1024, -160, 40, 240
    ds = make_dicom(stored, RescaleSlope=1, RescaleIntercept=-1024)
    ds.BitsStored, ds.HighBit = 12, 11
    ds.WindowCenter, ds.WindowWidth = 40, 400  # soft-tissue window in HU
    img = decode(dicom_bytes(ds))
    assert img.meta["voi"] == "window"
    np.testing.assert_allclose(img.pixels, [[0.0, 0.0, 0.5, 1.0, 1.0]], atol=2e-3)


def test_without_window_the_stored_range_is_stretched():
    img = decode(dicom_bytes(make_dicom(np.array([[100, 200, 300]], dtype=np.uint16))))
    assert img.meta["voi"] == "minmax"
    np.testing.assert_allclose(img.pixels, [[0.0, 0.5, 1.0]], atol=1e-6)


def test_rle_lossless_dicom_decodes_to_the_same_pixels():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 4096, size=(48, 40), dtype=np.uint16)
    plain = make_dicom(arr)
    packed = make_dicom(arr)
    packed.compress(RLELossless, arr)
    a, b = decode(dicom_bytes(plain)), decode(dicom_bytes(packed))
    assert b.meta["transfer_syntax"] == "RLE Lossless"
    assert (b.width, b.height) == (40, 48)
    np.testing.assert_array_equal(a.pixels, b.pixels)


def test_jpeg_baseline_dicom_decodes_through_pylibjpeg():
    yy, xx = np.mgrid[0:64, 0:48]
    arr = ((xx * 5 + yy * 2) % 256).astype(np.uint8)
    jpeg = jpeg_bytes(Image.fromarray(arr))
    ds = make_dicom(arr)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([jpeg])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    img = decode(dicom_bytes(ds))
    assert img.meta["transfer_syntax"] == "JPEG Baseline (Process 1)"
    assert (img.width, img.height) == (48, 64)
    viewed = np.asarray(Image.open(io.BytesIO(jpeg)), dtype=np.float32)
    expected = (viewed - viewed.min()) / (viewed.max() - viewed.min())
    assert np.abs(img.pixels - expected).max() <= 3 / 255


# --- refusals ----------------------------------------------------------------------------------


def test_input_error_carries_code_and_message():
    err = InputError("corrupt", "The PNG is truncated: image data ends early.")
    assert isinstance(err, ValueError)
    assert (err.code, err.message, str(err)) == ("corrupt", err.message, err.message)
    with pytest.raises(ValueError):
        InputError("no_such_code", "x")


def test_empty_bytes():
    assert "empty" in expect("empty", b"").message


def test_random_text_is_named():
    err = expect("unsupported_format", b"hello, this is not an X-ray\n" * 10)
    assert "text" in err.message and "PNG, JPEG or DICOM" in err.message


def test_gif_and_raw_dicom_are_named():
    assert "a GIF image" in expect("unsupported_format", b"GIF89a" + b"\0" * 20).message
    raw_dicom = b"\x08\x00\x05\x00CS\x0a\x00" + b"\0" * 200  # (0008,0005) first, no preamble
    assert "preamble" in expect("unsupported_format", raw_dicom).message


def test_truncated_png(shared_data):
    data = (shared_data / NIH_PNG).read_bytes()
    err = expect("corrupt", data[: len(data) // 2])
    assert err.message == "The PNG is truncated: image data ends early."


def test_truncated_jpeg(shared_data):
    data = (shared_data / PADCHEST_JPG).read_bytes()
    assert "truncated" in expect("corrupt", data[: len(data) // 2]).message


def test_png_declaring_20000x20000_is_refused_before_decoding():
    err = expect("too_many_pixels", bomb_png(20000, 20000))
    assert err.message == "The image is 20000x20000 pixels; the limit is 40000000 pixels."


def test_png_with_an_overlong_side_is_refused():
    assert "longest side" in expect("too_many_pixels", bomb_png(20000, 10)).message


def test_small_limits_apply_to_real_files(shared_data):
    png = (shared_data / NIH_PNG).read_bytes()
    assert "limit is 100 bytes" in expect("too_large", png, Limits(max_bytes=100)).message
    expect("too_many_pixels", png, Limits(max_pixels=512 * 511))
    dcm = (shared_data / DX_DCM).read_bytes()
    assert "1024x1024" in expect("too_many_pixels", dcm, Limits(max_side=1000)).message


def test_dicom_declaring_huge_rows_is_refused_before_pixels():
    ds = make_dicom(np.zeros((2, 2), dtype=np.uint8))
    ds.Rows, ds.Columns = 20000, 20000
    assert "20000x20000" in expect("too_many_pixels", dicom_bytes(ds)).message


def test_dicom_without_pixel_data():
    ds = make_dicom(None, Rows=256, Columns=256)
    assert "no pixel data" in expect("no_pixel_data", dicom_bytes(ds)).message


def test_multi_frame_dicom():
    frames = np.zeros((2, 16, 16), dtype=np.uint8)
    ds = make_dicom(frames[0], NumberOfFrames=2)
    ds.PixelData = frames.tobytes()
    assert "2 frames" in expect("multi_frame", dicom_bytes(ds)).message


def test_structured_report_is_not_an_image():
    ds = make_dicom(None, modality="SR", sop_class=BasicTextSRStorage)
    assert "structured report" in expect("not_an_image", dicom_bytes(ds)).message


def test_truncated_dicom(shared_data):
    data = (shared_data / DX_DCM).read_bytes()
    assert "pixel data" in expect("corrupt", data[: len(data) // 2]).message
    assert "truncated" in expect("corrupt", data[:200]).message


def test_truncation_tolerance_is_refused(monkeypatch, shared_data):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode((shared_data / NIH_PNG).read_bytes())
