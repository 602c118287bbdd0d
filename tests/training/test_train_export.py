"""A two-step training run on a handful of real images, then export and parity."""

import csv
import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch is missing: it comes with the training extra (.[training])"
)

from inference.manifest import Manifest, manifest_path_for, sha256_of  # noqa: E402
from training.export import export  # noqa: E402
from training.train import TrainConfig, train  # noqa: E402


@pytest.fixture
def tiny_qata(shared_data, tmp_path):
    src = shared_data / "qata-cov19"
    with open(src / "annotations.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pick = [r for r in rows if r["split"] == "train"][:6] + [
        r for r in rows if r["split"] == "valid"
    ][:4]
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for r in pick:
        shutil.copy(src / "images" / r["image"], tmp_path / "images")
        shutil.copy(src / "masks" / r["mask"], tmp_path / "masks")
    with open(tmp_path / "annotations.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(pick)
    return tmp_path


def test_two_steps_then_resume_then_export_with_parity(tiny_qata, tmp_path):
    out = tmp_path / "run"
    cfg = TrainConfig(
        data=str(tiny_qata),
        out=str(out),
        epochs=1,
        batch_size=3,
        max_steps=2,
        threads=2,
        widths=(8, 16, 16, 32, 32),
    )
    result = train(cfg)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["step"] == 2 and row["images"] == 4
    assert 0.0 <= row["dice_accumulated"] <= 1.0
    assert (out / "last.pt").exists() and (out / "best.pt").exists()
    assert result["best"]["epoch"] == 1

    # A second call resumes from last.pt instead of starting again.
    cfg.epochs, cfg.max_steps = 2, 4
    train(cfg)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[1]["step"] == 4

    onnx_path = tmp_path / "m.onnx"
    manifest = export(out / "best.pt", onnx_path, tiny_qata, "tiny", "0.0.1", evaluate_split=None)
    parity = manifest.training["parity"]
    assert parity["images"] == 4  # all valid images there are (fewer than 16)
    assert parity["max_abs_diff_mask_logits"] < 1e-3
    assert parity["max_abs_diff_zone_logits"] < 1e-3
    saved = Manifest.load(manifest_path_for(onnx_path))
    assert saved.sha256 == sha256_of(onnx_path)
    assert saved.parameters > 0 and saved.flops_per_image > 0
    assert saved.zone_order[0] == "left_upper"
    # the portal's intended-use notice: QaTa only, so normal films were never seen
    assert "(QaTa-COV19)" in saved.intended_use["trained_on"]
    assert saved.intended_use["not_trained_on"].startswith("Normal films")


def test_dynamic_batch_axis(tiny_qata, tmp_path):
    import onnxruntime as ort

    from training.export import to_onnx
    from training.model import SegFindNet

    path = tmp_path / "b.onnx"
    to_onnx(SegFindNet((8, 8, 8, 8, 8)).eval(), path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == [
        "mask_logits",
        "zone_logits",
        "presence_logit",
        "features",
    ]
    mask, zones, presence, features = sess.run(
        None, {"image": np.zeros((3, 1, 224, 224), np.float32)}
    )
    assert mask.shape == (3, 1, 224, 224) and zones.shape == (3, 6)
    assert presence.shape == (3,) and features.shape == (3, 8)
