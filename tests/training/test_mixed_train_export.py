"""Issue 13 end to end on a few real films of every kind: warm start from an ONNX file, train on
the mix, resume, export with the presence and scope blocks, parity on every output."""

import json

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch is missing: it comes with the training extra (.[training])"
)

from tests.training.tiny_data import tiny_negatives, tiny_qata  # noqa: E402
from training.export import ExportNet, export, to_onnx  # noqa: E402
from training.model import SegFindNet  # noqa: E402
from training.ood_images import photographs  # noqa: E402
from training.train import TrainConfig, train  # noqa: E402
from training.warm_start import load_onnx_weights  # noqa: E402

WIDTHS = (8, 16, 16, 32, 32)


@pytest.fixture
def tiny(shared_data, tmp_path):
    return (
        tiny_qata(shared_data / "qata-cov19", tmp_path / "qata"),
        tiny_negatives(shared_data / "cxr-negatives", tmp_path / "neg"),
    )


def test_warm_start_reproduces_the_exported_model(tmp_path):
    torch.manual_seed(0)
    src = SegFindNet(WIDTHS)
    with torch.no_grad():  # non-trivial BatchNorm statistics, so folding matters
        for m in src.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    src.eval()
    path = tmp_path / "v1.onnx"
    to_onnx(src, path)
    x = torch.randn(6, 1, 224, 224)
    dst = SegFindNet(WIDTHS)
    done = load_onnx_weights(dst, path, x)
    assert done["folded_convs"] == 5 * 2 + 1 + 4 * 2
    dst.eval()
    with torch.no_grad():
        a, b = src(x[:2]), dst(x[:2])
    assert torch.allclose(a.mask_logits, b.mask_logits, atol=1e-3)
    assert torch.allclose(a.zone_logits, b.zone_logits, atol=1e-3)
    with pytest.raises(ValueError, match=r"folded convs|shape"):
        load_onnx_weights(SegFindNet((8, 8, 8, 8)), path, x)


def test_train_on_the_mix_resume_and_export_with_presence_and_scope(tiny, tmp_path):
    qata, neg = tiny
    v1 = tmp_path / "v1.onnx"
    to_onnx(SegFindNet(WIDTHS).eval(), v1)
    out = tmp_path / "run"
    cfg = TrainConfig(
        data=str(qata),
        negatives=str(neg),
        out=str(out),
        epochs=1,
        batch_size=8,
        steps_per_epoch=2,
        threads=2,
        widths=WIDTHS,
        warm_start_onnx=str(v1),
    )
    train(cfg)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 2 and rows[0]["images"] == 4 + 7  # 7 label x population kinds
    assert 0 <= rows[0]["auroc normal vs abnormal"] <= 1
    assert set(rows[0]["flagged_per_kind"]) >= {
        "qata",
        "normal-pediatric",
        "pneumonia-pediatric",
        "tuberculosis-adult",
    }
    cfg.epochs = 2
    train(cfg)  # resumes: one more epoch, no second warm start
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]

    onnx_path = tmp_path / "v2.onnx"
    export(
        out / "best.pt",
        onnx_path,
        qata,
        "tiny",
        "2.0.0-test",
        evaluate_split=None,
        negatives=neg,
        ood_per_kind=2,
    )
    manifest = json.loads((tmp_path / "v2.manifest.json").read_text())
    assert manifest["zone_order"][0] == "left_upper"  # v1 fields kept
    assert manifest["outputs"] == [
        "mask_logits",
        "zone_logits",
        "presence_logit",
        "features",
        "scope_distance",
    ]
    parity = manifest["training"]["parity"]
    assert all(parity[f"max_abs_diff_{n}"] < 1e-3 for n in manifest["outputs"])
    p = manifest["presence"]
    assert p["output"] == "presence_logit" and p["temperature"] > 0
    assert 0 <= p["threshold"] <= 1 and 0 <= p["ece"] <= 1
    assert p["valid"]["targets"]["qata flagged"] >= 0.98  # the floor the threshold meets
    assert p["films"] == 4 + 7
    s = manifest["scope"]
    photos = len(photographs()[1])
    assert s["output"] == "scope_distance" and s["out_of_scope_images"] == 12 + photos
    assert s["threshold"] == 1.0 and s["chest_films_refused"] <= 0.1


def test_export_net_without_scope_keeps_four_outputs():
    net = ExportNet(SegFindNet(WIDTHS).eval())
    outs = net(torch.zeros(2, 1, 224, 224))
    assert net.output_names == ["mask_logits", "zone_logits", "presence_logit", "features"]
    assert [tuple(o.shape) for o in outs][2:] == [(2,), (2, 32)]
    assert np.isfinite(outs[2].detach().numpy()).all()
