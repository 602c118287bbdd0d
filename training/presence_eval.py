"""The exported file scored on issue 13's targets, through onnxruntime on the original PNGs.

`evaluate_onnx` gives the manifest's `presence` and `scope` blocks: calibration and threshold
fitted on valid (training.calibration), per-source and per-population rates, QaTa Dice, and the
scope gate's refusal rates on valid chest films and on made-up out-of-scope images.

    PYTHONPATH=. .venv/bin/python -m training.presence_eval --model m.onnx
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from training.calibration import calibrate
from training.metrics import MetricAccumulator
from training.mixed import MixedArrays, load_mixed
from training.ood_images import make, photographs
from training.scope import measure
from training.validate import MEAN, STD

BATCH = 32


def run_onnx(
    onnx_path: str | Path,
    images_u8: np.ndarray,
    threads: int = 2,
) -> dict[str, np.ndarray]:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for i in range(0, len(images_u8), BATCH):
        x = ((images_u8[i : i + BATCH, None].astype(np.float32) / 255.0) - MEAN) / STD
        for n, v in zip(names, sess.run(names, {"image": x}), strict=True):
            parts[n].append(v)
    return {n: np.concatenate(v) for n, v in parts.items()}


def segmentation_summary(
    valid: MixedArrays,
    mask_logits: np.ndarray,
    presence_flag: np.ndarray,
) -> dict[str, Any]:
    """QaTa Dice as the mask head gives it, and how often a normal film gets an empty mask."""
    pred = mask_logits[:, 0] > 0
    outlined = valid.has_zones
    acc = MetricAccumulator()
    acc.add_masks(pred[outlined], valid.masks[outlined] > 0)
    r = acc.result()
    normal = np.array([lab == "normal" for lab in valid.labels])
    empty = pred.reshape(len(pred), -1).sum(1) == 0
    return {
        "qata_dice_accumulated": round(r["dice_accumulated"], 4),
        "qata_dice_mean": round(r["dice_mean"], 4),
        "normal_mask_empty": round(float(empty[normal].mean()), 4) if normal.any() else None,
        "normal_mask_empty_or_not_flagged": round(float((empty | ~presence_flag)[normal].mean()), 4)
        if normal.any()
        else None,
    }


def evaluate_onnx(
    onnx_path: str | Path,
    qata: str | Path,
    negatives: str | Path,
    split: str = "valid",
    ood_per_kind: int = 40,
    limit: int | None = None,
) -> dict[str, Any]:
    valid = load_mixed(qata, negatives, split, limit=limit)
    out = run_onnx(onnx_path, valid.images)
    kinds = [valid.kind(i) for i in range(len(valid))]
    presence = calibrate(out["presence_logit"], kinds, valid.presence)
    flagged = (
        1 / (1 + np.exp(-(out["presence_logit"] / presence["temperature"] + presence["bias"])))
        >= presence["threshold"]
    )
    result: dict[str, Any] = {
        "presence": {
            "output": "presence_logit",
            "probability": "sigmoid(presence_logit / temperature + bias)",
            "decision": "lesion_present = probability >= threshold",
            "split": split,
            **presence,
            "segmentation": segmentation_summary(valid, out["mask_logits"], flagged),
        }
    }
    if "scope_distance" in out:
        ood, ood_kinds = make(ood_per_kind, seed=2026)
        photos, names = photographs()
        ood_out = run_onnx(onnx_path, np.concatenate([ood, photos]))["scope_distance"]
        result["scope"] = {
            "output": "scope_distance",
            "refuse": "scope_distance > threshold",
            "split": split,
            **measure(
                out["scope_distance"], ood_out, ood_kinds + ["photograph"] * len(names), kinds
            ),
            "out_of_scope_source": f"{len(ood_kinds)} made-up images (training.ood_images, "
            f"seed 2026) and {len(names)} real photographs "
            "(scikit-image's bundled images)",
            "photographs_not_refused": [
                n for n, d in zip(names, ood_out[len(ood) :], strict=True) if d <= 1.0
            ],
        }
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", default="../shared/data/qata-cov19")
    p.add_argument("--negatives", default="../shared/data/cxr-negatives")
    p.add_argument("--split", default="valid")
    p.add_argument("--limit", type=int, default=None)
    a = p.parse_args()
    print(json.dumps(evaluate_onnx(a.model, a.data, a.negatives, a.split, limit=a.limit), indent=2))


if __name__ == "__main__":
    main()
