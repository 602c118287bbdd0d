"""The scope gate: DICOM header rules refuse other modalities, body parts and lateral views with
a reason; `medsegtext predict` prints the refusal, writes no mask and exits 0; the shipped model's
image-based gate refuses header-less photographs and a page of text and keeps chest films."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inference.manifest import Manifest
from inference.pipeline import Predictor
from inference.scope import distance_reason, header_reason
from tests.inference.test_decode import dicom_bytes, make_dicom, png_bytes


def chest(shared_data: Path) -> np.ndarray:
    return np.asarray(
        Image.open(shared_data / "qata-cov19" / "images" / "covid_1.png").convert("L")
    )


@pytest.mark.parametrize(
    "meta,refused",
    [
        ({}, None),
        ({"modality": "DX", "body_part": "CHEST", "view_position": "PA"}, None),
        ({"modality": "CR", "body_part": "THORAX", "view_position": "AP"}, None),
        ({"modality": "CT"}, "Modality CT"),
        ({"modality": "MR", "body_part": "CHEST"}, "Modality MR"),
        ({"modality": "DX", "body_part": "HAND"}, "HAND"),
        ({"modality": "CR", "view_position": "LL"}, "lateral"),
        ({"modality": "DX", "view_position": "LATERAL"}, "lateral"),
    ],
)
def test_header_rules(meta, refused):
    reason = header_reason(meta)
    assert reason is None if refused is None else refused in (reason or "")


def test_distance_rule_only_with_a_scope_block():
    v1 = Manifest(name="m", version="1", onnx_file="m.onnx", sha256="0")
    v2 = Manifest(
        name="m",
        version="2",
        onnx_file="m.onnx",
        sha256="0",
        scope={"output": "scope_distance", "threshold": 10.0},
    )
    assert distance_reason(50.0, v1) is None
    assert distance_reason(5.0, v2) is None
    assert "50.00 > 10.00" in (distance_reason(50.0, v2) or "")


def test_refused_dicom_has_a_reason_and_no_findings(shared_data):
    predictor = Predictor(threads=1)
    pixels = chest(shared_data)
    for attrs, words in (
        ({"modality": "CT"}, "Modality CT"),
        ({"BodyPartExamined": "KNEE"}, "KNEE"),
        ({"ViewPosition": "LL"}, "lateral"),
    ):
        out = predictor.predict(dicom_bytes(make_dicom(pixels, **attrs)))  # type: ignore[arg-type]
        assert out.in_scope is False and words in (out.scope_reason or "")
        assert out.mask_png == b"" and out.overlay_png == b"" and out.findings_text is None
        assert out.zone_flags == {} and out.lesion_burden_percent is None
        # a reviewer's override analyses it anyway
        forced = predictor.predict(
            dicom_bytes(make_dicom(pixels, **attrs)),  # type: ignore[arg-type]
            check_scope=False,
        )
        assert forced.in_scope and forced.findings_text and forced.mask_png
    ok = predictor.predict(
        dicom_bytes(make_dicom(pixels, BodyPartExamined="CHEST", ViewPosition="PA"))
    )
    assert ok.in_scope and ok.scope_reason is None


def test_predict_prints_the_refusal_writes_no_mask_and_exits_0(shared_data, tmp_path):
    lateral = tmp_path / "lateral.dcm"
    lateral.write_bytes(dicom_bytes(make_dicom(chest(shared_data), ViewPosition="LL")))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "medsegtext",
            "predict",
            str(lateral),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout)
    assert line["in_scope"] is False and "lateral" in line["scope_reason"]
    assert line["findings_text"] is None
    assert '"in_scope": false, "scope_reason": "' in proc.stdout
    assert not list((tmp_path / "out").glob("*.png"))


def text_page() -> bytes:
    im = Image.new("L", (600, 800), 245)
    draw = ImageDraw.Draw(im)
    for y in range(40, 760, 22):
        draw.text((40, y), "Lorem ipsum dolor sit amet, consectetur adipiscing elit 1234", fill=20)
    return png_bytes(im)


def test_shipped_gate_refuses_a_page_of_text_and_photographs_and_keeps_films(shared_data):
    from training.ood_images import photographs

    predictor = Predictor(threads=1)
    out = predictor.predict(text_page())
    assert out.in_scope is False and "scope score" in (out.scope_reason or "")
    photos, names = photographs()
    if not names:
        pytest.skip("scikit-image (training extra) is missing: its photographs are the test")
    picked = [i for i, n in enumerate(names) if n in ("chelsea", "rocket", "astronaut", "coffee")]
    assert len(picked) == 4
    for i in picked:
        photo = predictor.predict(png_bytes(Image.fromarray(photos[i])))
        assert photo.in_scope is False, names[i]
    films = sorted((shared_data / "cxr-negatives" / "images").glob("*.png"))[:8]
    for film in [shared_data / "qata-cov19" / "images" / "covid_1.png", *films]:
        assert predictor.predict(film.read_bytes()).in_scope is True, film.name
