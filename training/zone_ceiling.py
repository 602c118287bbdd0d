"""How well can zone flags be predicted from the *ground-truth* masks? An upper bound for any
model whose zones follow its lesion map, and a check that two splits label zones alike.

A small classifier learns zone flags from the true masks (pooled to a 28x28 grid) on part of the
train split, then is scored on the rest of train and on the validation split. If the valid
annotations followed the train ones, both scores would match; the gap, the per-zone error rates
and where "middle only" lesions sit show how they differ.

    PYTHONPATH=. .venv/bin/python -m training.zone_ceiling --data ../shared/data/qata-cov19
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from training.data import Arrays, load_arrays, read_records
from training.metrics import zone_macro_f1

GRID = 28  # 224 / 8: one cell per 8x8 pixels


def pooled(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) 0/1 -> (N, GRID * GRID) lesion fraction per cell."""
    n, h, w = masks.shape
    cells = masks.astype(np.float32).reshape(n, GRID, h // GRID, GRID, w // GRID).mean((2, 4))
    return cells.reshape(n, -1)


def fit(x: np.ndarray, zones: np.ndarray, epochs: int = 60, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(zones.astype(np.float32))
    net = nn.Sequential(
        nn.Linear(x.shape[1], 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, zones.shape[1])
    )
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(epochs):
        for idx in torch.randperm(len(xt)).split(256):
            loss = F.binary_cross_entropy_with_logits(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def score(net: nn.Module, x: np.ndarray, zones: np.ndarray) -> dict[str, Any]:
    with torch.no_grad():
        pred = net(torch.from_numpy(x)).numpy() > 0
    true = zones > 0.5
    per_zone = [zone_macro_f1(pred[:, [k]], true[:, [k]]) for k in range(true.shape[1])]
    return {
        "images": len(x),
        "zone_macro_f1": round(zone_macro_f1(pred, true), 4),
        "f1_per_zone": [round(f, 3) for f in per_zone],
        "false_positive_rate_per_zone": np.round((pred & ~true).mean(0), 3).tolist(),
        "false_negative_rate_per_zone": np.round((~pred & true).mean(0), 3).tolist(),
    }


def middle_only_row(a: Arrays) -> float | None:
    """Mean lesion row (0 top, 1 bottom) of image-left lesions in rows labelled left-middle only."""
    sel = (a.zones[:, :3] > 0.5) == np.array([False, True, False])
    left = a.masks[sel.all(1), :, : a.masks.shape[2] // 2].sum(2).astype(np.float64)
    left = left[left.sum(1) > 0]
    if not len(left):
        return None
    rows = (np.arange(left.shape[1]) + 0.5) / left.shape[1]
    return round(float(((left * rows).sum(1) / left.sum(1)).mean()), 4)


def ceiling(
    data: str,
    fit_share: float = 0.7,
    epochs: int = 60,
    seeds: int = 4,
) -> dict[str, Any]:
    """Details for the first seed; the macro-F1 of every seed shows how much is fitting noise."""
    train, valid = (load_arrays(read_records(data, split=s)) for s in ("train", "valid"))
    cut = int(len(train.names) * fit_share)
    xt, xv = pooled(train.masks), pooled(valid.masks)
    held_out, on_valid = [], []
    for seed in range(seeds):
        net = fit(xt[:cut], train.zones[:cut], epochs, seed)
        held_out.append(score(net, xt[cut:], train.zones[cut:]))
        on_valid.append(score(net, xv, valid.zones))
    return {
        "fitted_on": f"ground-truth masks of train[:{cut}]",
        "zone_macro_f1_by_seed": {
            "train_held_out": [r["zone_macro_f1"] for r in held_out],
            "valid": [r["zone_macro_f1"] for r in on_valid],
        },
        "train_held_out": held_out[0],
        "valid": on_valid[0],
        "zone_prevalence": {
            "train": np.round(train.zones.mean(0, dtype=np.float64), 3).tolist(),
            "valid": np.round(valid.zones.mean(0, dtype=np.float64), 3).tolist(),
        },
        "left_middle_only_lesion_row": {
            "train": middle_only_row(train),
            "valid": middle_only_row(valid),
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data/qata-cov19")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seeds", type=int, default=4)
    args = p.parse_args()
    print(json.dumps(ceiling(args.data, epochs=args.epochs, seeds=args.seeds), indent=2))


if __name__ == "__main__":
    main()
