"""The patient's side: the mapping from the model's image-side zones, and a film with a side
marker read through the real shipped model, as PNG, as DICOM, and as a mirrored DICOM."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inference import sides
from inference.decode import decode
from inference.findings import ZONE_ORDER
from inference.pipeline import Predictor
from tests.inference.test_decode import dicom_bytes, make_dicom, png_bytes

# A QaTa valid film whose annotated lesion lies wholly in the image's right half.
RIGHT_HALF_FILM = "sub-s11278_ses-e20123_run-1_bp-chest_vp-ap_dx.png"


def test_standard_film_image_left_is_patient_right():
    assert sides.patient_key("left_lower") == "patient_right_lower"
    assert sides.patient_key("right_upper") == "patient_left_upper"
    assert sides.patient_key("left_lower", mirrored=True) == "patient_left_lower"
    assert [sides.image_key(sides.patient_key(z)) for z in ZONE_ORDER] == list(ZONE_ORDER)


def test_to_patient_keeps_values_and_orders_by_patient_side():
    values = dict(zip(ZONE_ORDER, range(6), strict=True))
    out = sides.to_patient(values)
    assert list(out) == list(sides.PATIENT_ZONES)
    assert out["patient_right_upper"] == values["left_upper"]
    assert out["patient_left_lower"] == values["right_lower"]
    assert sides.to_image(out) == values


@pytest.mark.parametrize(
    "orientation,mirrored",
    [
        (None, False),
        ("", False),
        ("L\\F", False),
        ("A\\F", False),
        ("R\\F", True),
        ("RH\\F", True),
        ("r/f", True),
        ("P\\F", False),
    ],
)
def test_patient_orientation_row_direction_r_means_mirrored(orientation, mirrored):
    assert sides.is_mirrored(orientation) is mirrored


def test_old_image_side_records_read_as_standard_film():
    old = {
        "left_upper": True,
        "left_middle": False,
        "left_lower": False,
        "right_upper": False,
        "right_middle": False,
        "right_lower": True,
    }
    new = sides.stored_to_patient(old)
    assert new is not None and list(new) == list(sides.PATIENT_ZONES)
    assert new["patient_right_upper"] and new["patient_left_lower"]
    assert sum(new.values()) == 2
    assert sides.stored_to_patient(new) == new
    assert sides.stored_to_patient(None) is None


def test_sentence_names_patient_side_and_parses_back():
    flags = dict.fromkeys(sides.PATIENT_ZONES, False) | {"patient_left_lower": True}
    text = sides.sentence(flags)
    assert text == "unilateral pulmonary infection, one infected area, lower left lung."
    assert sides.parse_patient(text) == flags
    assert sides.laterality(flags) == "left"
    both = flags | {"patient_right_upper": True}
    assert sides.parse_patient(sides.sentence(both)) == both
    assert sides.laterality(both) == "bilateral"
    none = dict.fromkeys(sides.PATIENT_ZONES, False)
    assert sides.sentence(none) == "No focal opacity detected."
    assert sides.sentence(none, lesion_present=True) == "Abnormal film; lesion not outlined."
    assert sides.parse_patient("No focal opacity detected.") == none


def marked_film(shared_data: Path) -> np.ndarray:
    """The right-half film with a radiographer's "L" marker drawn beside its lesion, top right."""
    path = shared_data / "qata-cov19" / "images" / RIGHT_HALF_FILM
    mask = shared_data / "qata-cov19" / "masks" / f"mask_{RIGHT_HALF_FILM}"
    assert not (np.asarray(Image.open(mask).convert("L"))[:, :112] > 127).any()
    im = Image.open(path).convert("L")
    draw = ImageDraw.Draw(im)
    draw.rectangle((196, 6, 216, 30), fill=0)
    draw.line((201, 10, 201, 25), fill=255, width=3)  # "L", as a lead marker shows it
    draw.line((201, 25, 211, 25), fill=255, width=3)
    return np.asarray(im)


def flagged_sides(flags: dict[str, bool]) -> set[str]:
    return {z.split("_")[1] for z, on in flags.items() if on}


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(threads=1)


def test_lesion_beside_the_l_marker_is_the_patients_left(shared_data, predictor):
    pixels = marked_film(shared_data)
    png = predictor.predict(png_bytes(Image.fromarray(pixels)))
    dcm = predictor.predict(dicom_bytes(make_dicom(pixels, BodyPartExamined="CHEST")))
    for out in (png, dcm):
        assert flagged_sides(out.zone_flags) == {"left"}, out.zone_flags
        assert out.laterality == "left"
        assert "left lung" in (out.findings_text or "") and "right" not in (out.findings_text or "")


def test_mirrored_dicom_swaps_the_sides(shared_data, predictor):
    """Same pixels, PatientOrientation R\\F: the image's right half is the patient's right."""
    pixels = marked_film(shared_data)
    data = dicom_bytes(make_dicom(pixels, PatientOrientation=["R", "F"]))
    assert decode(data).meta["patient_orientation"] == "R\\F"
    out = predictor.predict(data)
    assert flagged_sides(out.zone_flags) == {"right"}, out.zone_flags
    assert out.laterality == "right"
    assert "right lung" in (out.findings_text or "")
    standard = predictor.predict(dicom_bytes(make_dicom(pixels)))
    assert (
        out.zone_probabilities["patient_right_lower"]
        == standard.zone_probabilities["patient_left_lower"]
    )
