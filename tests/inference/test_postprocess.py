"""One story per film, from synthetic model outputs: flags follow the mask, the v2 presence
decision empties the mask, and the words say what was (not) outlined."""

import numpy as np

from inference.manifest import Manifest
from inference.postprocess import postprocess
from inference.sides import NO_LESION_SENTENCE, NOT_OUTLINED_SENTENCE

V1 = Manifest(name="m", version="1", onnx_file="m.onnx", sha256="0")
V2 = Manifest(
    name="m",
    version="2",
    onnx_file="m.onnx",
    sha256="0",
    presence={"output": "presence_logit", "temperature": 2.0, "threshold": 0.5},
)
ALL_ZONES = np.full(6, 5.0, dtype=np.float32)  # the zone head flags every zone


def lesion(rows: slice, cols: slice) -> np.ndarray:
    logits = np.full((224, 224), -8.0, dtype=np.float32)
    logits[rows, cols] = 8.0
    return logits


def test_zone_head_flag_without_outlined_lesion_is_dropped():
    """The reported bug: a zone flagged by the zone head while nothing is outlined there."""
    out = postprocess(lesion(slice(180, 200), slice(150, 180)), ALL_ZONES, 224, 224, V1)
    # image right half, lower band = the patient's left lower zone
    assert [z for z, on in out.zone_flags.items() if on] == ["patient_left_lower"]
    assert out.zone_probabilities["patient_right_upper"] > 0.99  # the head's value is kept
    assert (
        out.findings_text == "unilateral pulmonary infection, one infected area, lower left lung."
    )
    assert out.lesion_present is True and out.lesion_probability is None
    assert out.lesion_burden_percent > 0


def test_v1_empty_mask_says_no_focal_opacity_whatever_the_zone_head_says():
    out = postprocess(np.full((224, 224), -8.0, np.float32), ALL_ZONES, 224, 224, V1)
    assert not out.mask.any() and not any(out.zone_flags.values())
    assert out.lesion_present is False and out.lesion_burden_percent == 0
    assert out.findings_text == NO_LESION_SENTENCE and out.laterality == "none"


def test_outlined_lesion_the_zone_head_missed_is_still_named():
    out = postprocess(
        lesion(slice(10, 40), slice(20, 60)), np.full(6, -5.0, np.float32), 224, 224, V1
    )
    assert [z for z, on in out.zone_flags.items() if on] == ["patient_right_upper"]


def test_v2_absent_empties_the_mask():
    out = postprocess(
        lesion(slice(10, 40), slice(20, 60)), ALL_ZONES, 224, 224, V2, presence_logit=-1.0
    )
    assert out.lesion_present is False
    assert abs(out.lesion_probability - 1 / (1 + np.exp(0.5))) < 1e-3  # sigmoid(-1 / T)
    assert not out.mask.any() and not any(out.zone_flags.values())
    assert out.lesion_burden_percent == 0 and out.findings_text == NO_LESION_SENTENCE


def test_v2_present_but_nothing_outlined_says_so():
    out = postprocess(
        np.full((224, 224), -8.0, np.float32), ALL_ZONES, 224, 224, V2, presence_logit=4.0
    )
    assert out.lesion_present is True and out.lesion_probability > 0.5
    assert not any(out.zone_flags.values()) and out.laterality == "none"
    assert out.findings_text == NOT_OUTLINED_SENTENCE


def test_mirrored_film_swaps_flags_and_probabilities():
    logits = lesion(slice(180, 200), slice(150, 180))
    zones = np.arange(6, dtype=np.float32)
    std = postprocess(logits, zones, 224, 224, V1)
    mir = postprocess(logits, zones, 224, 224, V1, mirrored=True)
    assert mir.zone_flags["patient_right_lower"] and std.zone_flags["patient_left_lower"]
    assert (
        mir.zone_probabilities["patient_right_lower"]
        == std.zone_probabilities["patient_left_lower"]
    )
