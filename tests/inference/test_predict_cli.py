"""`medsegtext predict` on real samples and bad inputs, through the real shipped model."""

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.model_files import DEFAULT_MODEL
from inference.sides import PATIENT_ZONES, parse_patient


def run_predict(paths: list[Path], out: Path, *extra: str) -> tuple[int, list[dict]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "medsegtext",
            "predict",
            *map(str, paths),
            "--out",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, lines


def test_predict_real_png_jpeg_dicom(shared_data, tmp_path):
    inputs = [
        shared_data / "qata-cov19" / "images" / "covid_1.png",
        shared_data / "samples" / "images" / "nih-00000001_000.png",
        shared_data / "samples" / "images" / "padchest-16747_3_1.jpg",
        shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm",
    ]
    rc, lines = run_predict(inputs, tmp_path)
    assert rc == 0
    assert [line["input"] for line in lines] == [str(p) for p in inputs]
    sizes = {
        "covid_1": (224, 224),
        "nih-00000001_000": (512, 512),
        "padchest-16747_3_1": (1036, 885),
        "nccid-dx-1024": (1024, 1024),
    }
    for line, path in zip(lines, inputs, strict=True):
        assert "error" not in line
        mask = Image.open(tmp_path / f"{path.stem}.mask.png")
        with Image.open(tmp_path / f"{path.stem}.overlay.png") as overlay:
            assert mask.size == overlay.size == sizes[path.stem]
            assert overlay.mode == "RGB"
        values = set(np.unique(np.asarray(mask)).tolist())
        assert values <= {0, 255}
        assert list(line["zone_probabilities"]) == list(PATIENT_ZONES)
        assert all(0.0 <= p <= 1.0 for p in line["zone_probabilities"].values())
        # The sentence is rendered from the flags it reports.
        assert parse_patient(line["findings_text"]) == line["zone_flags"]
        assert line["in_scope"] is True and line["scope_reason"] is None
        burden = 100 * float(np.mean(np.asarray(mask) > 0))
        assert line["lesion_burden_percent"] == pytest.approx(burden, abs=1e-2)
        assert set(line["timings_ms"]) >= {"decode", "preprocess", "model", "postprocess"}
        assert line["model"]["name"] == "medsegtext-segfind"
        assert len(line["model"]["sha256"]) == 64


def test_qata_image_finds_lesions_where_the_mask_has_them(shared_data, tmp_path):
    """covid_1 has lesion in all six zones; the model must overlap the annotated mask."""
    img = shared_data / "qata-cov19" / "images" / "covid_1.png"
    rc, [line] = run_predict([img], tmp_path)
    assert rc == 0
    pred = np.asarray(Image.open(tmp_path / "covid_1.mask.png")) > 0
    true = np.asarray(Image.open(shared_data / "qata-cov19" / "masks" / "mask_covid_1.png")) > 0
    dice = 2 * (pred & true).sum() / (pred.sum() + true.sum())
    assert dice > 0.5
    assert line["laterality"] == "bilateral"


def test_bad_inputs_report_errors_and_the_rest_still_run(shared_data, tmp_path):
    good = shared_data / "samples" / "images" / "nih-00000001_000.png"
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:5000])
    missing = tmp_path / "missing.dcm"
    rc, lines = run_predict([empty, good, text, truncated, missing], tmp_path / "out")
    assert rc == 1
    by_input = {Path(line["input"]).name: line for line in lines}
    assert "error" not in by_input[good.name]
    assert (tmp_path / "out" / f"{good.stem}.overlay.png").exists()
    for name in ("empty.png", "notes.png", "truncated.png", "missing.dcm"):
        assert name in by_input[name]["error"]
    assert "empty" in by_input["empty.png"]["error"].lower()
    assert "truncated" in by_input["truncated.png"]["error"].lower()
    assert "No such file" in by_input["missing.dcm"]["error"]
    assert not (tmp_path / "out" / "truncated.mask.png").exists()


def test_oversized_png_is_refused(tmp_path):
    """A PNG whose header declares 20000x20000 pixels is refused before decoding."""
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    # IHDR: 8-byte signature, 4-byte length, b"IHDR", width, height, ..., CRC over type+data.
    data[16:24] = struct.pack(">II", 20000, 20000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path = tmp_path / "huge.png"
    path.write_bytes(bytes(data))
    rc, [line] = run_predict([path], tmp_path / "out")
    assert rc == 1
    assert "20000x20000" in line["error"]


def test_missing_model_is_a_clear_error(tmp_path):
    rc, [line] = run_predict([tmp_path / "x.png"], tmp_path, "--model", str(tmp_path / "no.onnx"))
    assert rc == 2
    assert "model file not found" in line["error"]


def test_default_model_and_manifest_are_shipped():
    from inference.manifest import Manifest, manifest_path_for, sha256_of

    m = Manifest.load(manifest_path_for(DEFAULT_MODEL))
    assert m.sha256 == sha256_of(DEFAULT_MODEL)
    assert DEFAULT_MODEL.stat().st_size <= 40 * 2**20
    assert m.parameters <= 10_000_000
