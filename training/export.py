"""Export a checkpoint to one ONNX file with a dynamic batch axis, check it against PyTorch, and
write its manifest (metrics measured through the inference core on the original PNGs).

Outputs: `mask_logits`, `zone_logits` (as in v1, so the v1 inference core still runs the file),
`presence_logit` (B,), `features` (B, 256: the pooled bottleneck) and, when the export is given
the training films, `scope_distance` (B,: training.scope). With cxr-negatives the manifest gains
a `presence` block (temperature, threshold chosen on valid, ECE, reliability bins, per-source
rates) and a `scope` block (threshold and measured refusal rates). `Manifest` (inference core)
does not know these keys yet; they are merged into the JSON after it is written.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from inference.manifest import Manifest, manifest_path_for, sha256_of
from training.data import load_arrays, read_records
from training.model import DEFAULT_WIDTHS, OUTPUT_NAMES, SegFindNet, count_flops, count_parameters
from training.scope import ScopeGate, level_features
from training.validate import MEAN, STD

PARITY_IMAGES = 16


class ExportNet(nn.Module):
    """SegFindNet's outputs as a flat tuple, plus the scope distance when one is fitted."""

    def __init__(self, net: SegFindNet, scope: ScopeGate | None = None):
        super().__init__()
        self.net, self.scope = net, scope

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        levels = self.net.encode(x)
        o = self.net.heads(levels)
        outs = (o.mask_logits, o.zone_logits, o.presence_logit, o.features)
        if self.scope is None:
            return outs
        return (*outs, self.scope(level_features(levels)))

    @property
    def output_names(self) -> list[str]:
        return [*OUTPUT_NAMES, "scope_distance"] if self.scope is not None else list(OUTPUT_NAMES)


def load_checkpoint(path: str | Path) -> tuple[SegFindNet, dict[str, Any]]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model = SegFindNet(tuple(ckpt.get("widths", DEFAULT_WIDTHS)))
    missing, unexpected = model.load_state_dict(ckpt["model"], strict=False)
    if unexpected or missing:
        raise ValueError(
            f"{path}: not a SegFindNet v2 checkpoint (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); v1 weights need training first"
        )
    model.eval()
    return model, ckpt


def to_onnx(model: SegFindNet | ExportNet, path: Path, size: int = 224) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    net = model if isinstance(model, ExportNet) else ExportNet(model)
    net.eval()
    names = net.output_names
    # The TorchScript exporter on purpose (dynamo=False): the torch.export one needs onnxscript,
    # which the training extra does not install. Torch warns that it is deprecated; known.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "You are using the legacy TorchScript-based ONNX", DeprecationWarning
        )
        torch.onnx.export(
            net,
            (torch.zeros(1, 1, size, size),),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["image"],
            output_names=names,
            dynamic_axes={"image": {0: "batch"}, **{n: {0: "batch"} for n in names}},
        )


def parity(
    model: SegFindNet | ExportNet,
    onnx_path: Path,
    images_u8: np.ndarray,
) -> dict[str, float]:
    """Max |torch - onnxruntime| over every output on the given images, run as one batch.
    Distances are compared relative to their size (they are sums of ~256 squares)."""
    net = model if isinstance(model, ExportNet) else ExportNet(model)
    net.eval()
    x = ((images_u8[:, None].astype(np.float32) / 255.0) - MEAN) / STD
    with torch.no_grad():
        ours = [t.numpy() for t in net(torch.from_numpy(x))]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    theirs = sess.run(net.output_names, {"image": x})
    out: dict[str, float] = {"images": len(images_u8)}
    for name, a, b in zip(net.output_names, ours, theirs, strict=True):
        diff = np.abs(a - b).max()
        if name == "scope_distance":
            diff = diff / max(float(np.abs(a).max()), 1.0)
        out[f"max_abs_diff_{name}"] = float(diff)
    return out


def intended_use(train_images: int, negatives: bool) -> dict[str, str]:
    """What the model was and was not trained on, in words for the portal's intended-use notice
    (../shared/data/README.md has the facts)."""
    qata = (
        f"{train_images:,} frontal chest X-rays of COVID-19 pneumonia (QaTa-COV19), every "
        "one with its lesions outlined"
    )
    if not negatives:
        return {
            "trained_on": f"{qata}.",
            "not_trained_on": "Normal films or other lung diseases (non-COVID pneumonia, "
            "tuberculosis), lateral views, CT, MRI or any other modality "
            "or body part. On such images its findings are not to be "
            "relied on.",
        }
    return {
        "trained_on": f"{qata}; and frontal normal, pneumonia and tuberculosis films "
        "(cxr-negatives: adults, and children aged 1-5), which teach it "
        "whether a film is abnormal but carry no lesion outline.",
        "not_trained_on": "Outlines of lesions other than COVID-19, lateral views, CT, MRI "
        "or any other modality or body part. On such images its "
        "findings are not to be relied on.",
    }


def export(
    checkpoint: str | Path,
    out: str | Path,
    data: str | Path,
    name: str,
    version: str,
    evaluate_split: str | None = "valid",
    negatives: str | Path | None = None,
    ood_per_kind: int = 40,
) -> Manifest:
    model, ckpt = load_checkpoint(checkpoint)
    onnx_path = Path(out)
    scope = None
    if negatives is not None:
        from training.scope_fit import fit_scope

        scope = fit_scope(model, data, negatives)
    net = ExportNet(model, scope)
    to_onnx(net, onnx_path)
    valid = read_records(data, split="valid")
    train_n = len(read_records(data, split="train"))
    check = parity(net, onnx_path, load_arrays(valid[:PARITY_IMAGES]).images)
    print(json.dumps({"parity": check}), flush=True)
    manifest = Manifest(
        name=name,
        version=version,
        onnx_file=onnx_path.name,
        sha256=sha256_of(onnx_path),
        mean=MEAN,
        std=STD,
        parameters=count_parameters(model),
        flops_per_image=count_flops(model),
        training={
            "data": "QaTa-COV19 (LViT text, SGSeg templates)"
            + (" + cxr-negatives (normal, pneumonia, tuberculosis)" if negatives else ""),
            "train_images": train_n,
            "valid_images": len(valid),
            "selected_epoch": ckpt.get("metrics", {}).get("epoch"),
            "selection": ckpt.get("metrics", {}).get("route")
            or (
                "best mean of QaTa accumulated Dice, AUROC normal vs abnormal and "
                "adult and pediatric normal specificity on valid"
            ),
            "training_valid_metrics": ckpt.get("metrics", {}),
            "parity": check,
        },
        intended_use=intended_use(train_n, negatives is not None),
    )
    mpath = manifest_path_for(onnx_path)
    manifest.save(mpath)
    if evaluate_split:
        from training.evaluate import evaluate

        metrics = evaluate(data, split=evaluate_split, model_path=onnx_path)
        manifest = Manifest.load(mpath)
        manifest = Manifest(**{**manifest.__dict__, "metrics": {evaluate_split: metrics}})
        manifest.save(mpath)
    extra: dict[str, Any] = {"outputs": net.output_names}
    if negatives is not None:
        from training.presence_eval import evaluate_onnx

        extra.update(evaluate_onnx(onnx_path, data, negatives, ood_per_kind=ood_per_kind))
    merge_manifest(mpath, extra)
    return manifest


def merge_manifest(path: Path, extra: dict[str, Any]) -> None:
    """Add top-level keys that `Manifest` does not model yet, keeping every existing field."""
    data = json.loads(path.read_text())
    data.update(extra)
    path.write_text(json.dumps(data, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    """`python -m training.export CKPT OUT.onnx --negatives ...` (issue 13's export)."""
    import argparse

    p = argparse.ArgumentParser(description="checkpoint -> ONNX + manifest with presence/scope")
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--data", default="../shared/data/qata-cov19")
    p.add_argument("--negatives", default="../shared/data/cxr-negatives")
    p.add_argument("--name", default="medsegtext-segfind")
    p.add_argument("--version", default="2.0.0-dev")
    p.add_argument(
        "--evaluate",
        action="store_true",
        help="also score QaTa valid through the v1 inference core",
    )
    a = p.parse_args(argv)
    m = export(
        a.checkpoint, a.out, a.data, a.name, a.version, "valid" if a.evaluate else None, a.negatives
    )
    print(manifest_path_for(a.out).read_text() if m else "", flush=True)


if __name__ == "__main__":
    main()
