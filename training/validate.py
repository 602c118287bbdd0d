"""Per-epoch validation of the mixed model in PyTorch: segmentation on QaTa valid, the presence
decision per source and population on the whole valid mix."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from inference.findings import render
from training.calibration import choose_threshold, rates, sigmoid
from training.metrics import MetricAccumulator
from training.mixed import MixedArrays
from training.model import SegFindNet

MEAN, STD = 0.5, 0.25  # copied into the manifest at export; inference reads it from there


def normalise(images_u8: torch.Tensor) -> torch.Tensor:
    return (images_u8.float() / 255.0 - MEAN) / STD


@torch.no_grad()
def predict_all(
    model: SegFindNet,
    images: np.ndarray,
    device: torch.device,
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """Masks (bool), zone logits, presence logits and features for (N, H, W) uint8 films."""
    was_training = model.training
    model.eval()
    masks, zones, presence, feats = [], [], [], []
    for i in range(0, len(images), batch_size):
        x = normalise(torch.from_numpy(images[i : i + batch_size]).unsqueeze(1).to(device))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out = model(x)
        masks.append((out.mask_logits.float() > 0).squeeze(1).cpu().numpy())
        zones.append(out.zone_logits.float().cpu().numpy())
        presence.append(out.presence_logit.float().cpu().numpy())
        feats.append(out.features.float().cpu().numpy())
    model.train(was_training)
    return {
        "masks": np.concatenate(masks),
        "zone_logits": np.concatenate(zones),
        "presence_logits": np.concatenate(presence),
        "features": np.concatenate(feats),
    }


def evaluate_mixed(
    model: SegFindNet,
    valid: MixedArrays,
    device: torch.device,
) -> dict[str, Any]:
    """Dice / zone F1 on films with an outline and zones; presence rates at the threshold that
    meets the sensitivity floors on this very split (the raw logit: temperature does not change
    which films a threshold flags)."""
    pred = predict_all(model, valid.images, device)
    out: dict[str, Any] = {"images": len(valid)}
    outlined = valid.has_zones
    if outlined.any():
        acc = MetricAccumulator()
        acc.add_masks(pred["masks"][outlined], valid.masks[outlined] > 0)
        zp = pred["zone_logits"][outlined] > 0
        zt = valid.zones[outlined] > 0.5
        desc = [d for d, o in zip(valid.descriptions, outlined, strict=True) if o]
        for j in range(len(zp)):
            acc.add_findings(zp[j], zt[j], render(list(zp[j])), desc[j])
        r = acc.result()
        out.update({k: r[k] for k in ("dice_accumulated", "dice_mean", "zone_macro_f1")})
    kinds = [valid.kind(i) for i in range(len(valid))]
    probs = sigmoid(pred["presence_logits"])
    decision = rates(probs, kinds, valid.presence, choose_threshold(probs, kinds))
    out["presence"] = decision
    normal = np.array([k.startswith("normal") for k in kinds])
    if normal.any():
        out["normal_mask_empty"] = float((pred["masks"][normal].sum((1, 2)) == 0).mean())
    return out


def selection_score(metrics: dict[str, Any]) -> float:
    """Best epoch: mean of QaTa Dice, AUROC normal vs abnormal and the adult and pediatric
    normal specificities at the floor-meeting threshold (whichever of these exist)."""
    t = metrics.get("presence", {}).get("targets", {})
    parts = [
        metrics.get("dice_accumulated"),
        t.get("auroc normal vs abnormal"),
        t.get("normal-adult read as no lesion"),
        t.get("normal-pediatric read as no lesion"),
    ]
    vals = [float(v) for v in parts if v is not None]
    return sum(vals) / len(vals) if vals else 0.0
