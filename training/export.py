"""Export a checkpoint to one ONNX file with a dynamic batch axis, check it against PyTorch, and
write its manifest (metrics measured through the inference core on the original PNGs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from inference.manifest import Manifest, manifest_path_for, sha256_of
from training.data import load_arrays, read_records
from training.model import DEFAULT_WIDTHS, SegFindNet, count_flops, count_parameters
from training.train import MEAN, STD

PARITY_IMAGES = 16


def load_checkpoint(path: str | Path) -> tuple[SegFindNet, dict[str, Any]]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model = SegFindNet(tuple(ckpt.get("widths", DEFAULT_WIDTHS)))
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, ckpt


def to_onnx(model: SegFindNet, path: Path, size: int = 224) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model, (torch.zeros(1, 1, size, size),), str(path), dynamo=False, opset_version=17,
        input_names=["image"], output_names=["mask_logits", "zone_logits"],
        dynamic_axes={"image": {0: "batch"}, "mask_logits": {0: "batch"},
                      "zone_logits": {0: "batch"}},
    )


def parity(model: SegFindNet, onnx_path: Path, images_u8: np.ndarray) -> dict[str, float]:
    """Max |torch - onnxruntime| over both outputs on the given images, run as one batch."""
    x = ((images_u8[:, None].astype(np.float32) / 255.0) - MEAN) / STD
    with torch.no_grad():
        t_mask, t_zone = (t.numpy() for t in model(torch.from_numpy(x)))
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    o_mask, o_zone = sess.run(["mask_logits", "zone_logits"], {"image": x})
    return {
        "images": len(images_u8),
        "max_abs_diff_mask_logits": float(np.abs(t_mask - o_mask).max()),
        "max_abs_diff_zone_logits": float(np.abs(t_zone - o_zone).max()),
    }


def export(checkpoint: str | Path, out: str | Path, data: str | Path, name: str, version: str,
           evaluate_split: str | None = "valid") -> Manifest:
    model, ckpt = load_checkpoint(checkpoint)
    onnx_path = Path(out)
    to_onnx(model, onnx_path)
    valid = read_records(data, split="valid")
    train_n = len(read_records(data, split="train"))
    check = parity(model, onnx_path, load_arrays(valid[:PARITY_IMAGES]).images)
    print(json.dumps({"parity": check}), flush=True)
    manifest = Manifest(
        name=name, version=version, onnx_file=onnx_path.name, sha256=sha256_of(onnx_path),
        mean=MEAN, std=STD, parameters=count_parameters(model),
        flops_per_image=count_flops(model),
        training={
            "data": "QaTa-COV19 (LViT text, SGSeg templates)", "train_images": train_n,
            "valid_images": len(valid), "selected_epoch": ckpt.get("metrics", {}).get("epoch"),
            "selection": "best mean of accumulated Dice and zone macro-F1 on valid",
            "training_valid_metrics": ckpt.get("metrics", {}), "parity": check,
        },
    )
    mpath = manifest_path_for(onnx_path)
    manifest.save(mpath)
    if evaluate_split:
        from training.evaluate import evaluate

        metrics = evaluate(data, split=evaluate_split, model_path=onnx_path)
        manifest = Manifest.load(mpath)
        manifest = Manifest(**{**manifest.__dict__, "metrics": {evaluate_split: metrics}})
        manifest.save(mpath)
    return manifest
