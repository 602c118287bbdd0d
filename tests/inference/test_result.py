"""The prediction contract (inference.result): what to_dict writes, from_dict reads back, and
from_dict names the field that is wrong instead of passing a bad value on."""

from __future__ import annotations

import pytest

from inference.result import PredictionSummary

SUMMARY = PredictionSummary(
    width=640,
    height=512,
    source_format="jpeg",
    findings_text="No lesion.",
    zone_flags={"right_upper": False},
    zone_probabilities={"right_upper": 0.02},
    laterality="none",
    lesion_burden_percent=0.0,
    model={"name": "m", "version": "2.0.0", "sha256": "ef" * 32},
    timings_ms={"model": 30.25},
    lesion_present=False,
    lesion_probability=0.04,
)


def test_to_dict_and_back_is_the_same_summary() -> None:
    data = SUMMARY.to_dict()
    assert list(data) == [
        "width",
        "height",
        "source_format",
        "findings_text",
        "zone_flags",
        "zone_probabilities",
        "laterality",
        "lesion_burden_percent",
        "model",
        "timings_ms",
        "lesion_present",
        "lesion_probability",
        "in_scope",
        "scope_reason",
    ]
    assert PredictionSummary.from_dict(data) == SUMMARY
    assert PredictionSummary.from_dict({**data, "case_id": "x", "mask_key": "k"}) == SUMMARY
    assert (SUMMARY.model_name, SUMMARY.model_version) == ("m", "2.0.0")


def test_whole_numbers_read_as_floats_where_a_number_is_expected() -> None:
    data = {
        **SUMMARY.to_dict(),
        "zone_probabilities": {"right_upper": 1},
        "lesion_burden_percent": 0,
        "width": 640.0,
    }
    read = PredictionSummary.from_dict(data)
    assert read.zone_probabilities == {"right_upper": 1.0} and read.width == 640
    assert isinstance(read.lesion_burden_percent, float)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("width", "640", "width: expected an integer"),
        ("width", 640.5, "width: expected an integer"),
        ("zone_flags", {"right_upper": "yes"}, "zone_flags.right_upper: expected true or false"),
        ("zone_probabilities", [0.1], "zone_probabilities: expected an object"),
        ("lesion_present", 1, "lesion_present: expected true or false"),
        ("findings_text", 3, "findings_text: expected a string"),
    ],
)
def test_a_wrong_type_names_its_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PredictionSummary.from_dict({**SUMMARY.to_dict(), field: value})


def test_a_prediction_without_findings_text_is_refused() -> None:
    data = SUMMARY.to_dict()
    del data["findings_text"]
    with pytest.raises(ValueError, match="no findings_text"):
        PredictionSummary.from_dict(data)
