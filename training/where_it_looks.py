"""Where does the presence decision look? Occlusion sensitivity on a few films of each kind.

For each film, a grey square (the film's mean) is slid over it and the presence logit recomputed;
the drop of the logit where a square sits is the evidence that region gave for "lesion". A model
that learned the archive would lean on corners, borders and burned-in text; one that learned the
lungs leans on the lung fields. Besides the pictures, one number per film: the share of positive
evidence that lies in the outer band (outside the central 76% box) where markers, borders and
collimation live, though little lung does.

    PYTHONPATH=. .venv/bin/python -m training.where_it_looks --checkpoint best.pt --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from training.mixed import MixedArrays, load_mixed
from training.model import SegFindNet
from training.validate import normalise

PATCH, STRIDE = 32, 16
BAND = 0.12  # outer band width, as a share of the side


@torch.no_grad()
def occlusion_map(
    model: SegFindNet,
    image: np.ndarray,
    batch: int = 64,
) -> tuple[float, np.ndarray]:
    """Base presence logit and the (H, W) mean logit drop when each pixel is covered."""
    model.eval()
    h, w = image.shape
    fill = float(image.mean())
    ys = list(range(0, h - PATCH + 1, STRIDE))
    xs = list(range(0, w - PATCH + 1, STRIDE))
    variants, boxes = [], []
    for y in ys:
        for x in xs:
            v = image.astype(np.float32).copy()
            v[y : y + PATCH, x : x + PATCH] = fill
            variants.append(v)
            boxes.append((y, x))
    base = float(model(normalise(torch.from_numpy(image[None, None]))).presence_logit[0])
    logits = []
    stack = np.stack(variants)[:, None]
    for i in range(0, len(stack), batch):
        logits.append(model(normalise(torch.from_numpy(stack[i : i + batch]))).presence_logit)
    drops = base - torch.cat(logits).numpy()
    heat, count = np.zeros((h, w)), np.zeros((h, w))
    for (y, x), d in zip(boxes, drops, strict=True):
        heat[y : y + PATCH, x : x + PATCH] += d
        count[y : y + PATCH, x : x + PATCH] += 1
    return base, heat / np.maximum(count, 1)


def border_share(heat: np.ndarray) -> float:
    pos = np.clip(heat, 0, None)
    h, w = heat.shape
    by, bx = int(h * BAND), int(w * BAND)
    inner = pos[by : h - by, bx : w - bx].sum()
    total = pos.sum()
    return float(1 - inner / total) if total > 0 else 0.0


def picture(image: np.ndarray, heat: np.ndarray, title: str) -> Image.Image:
    """The film beside the film with evidence for lesion in red, against it in blue."""
    g = image.astype(np.float32)
    scale = max(float(np.abs(heat).max()), 1e-6)
    pos, neg = np.clip(heat / scale, 0, 1), np.clip(-heat / scale, 0, 1)
    rgb = np.stack(
        [
            g * (1 - 0.6 * neg) + 255 * 0.6 * pos,
            g * (1 - 0.6 * (pos + neg)),
            g * (1 - 0.6 * pos) + 255 * 0.6 * neg,
        ],
        -1,
    )
    left = Image.fromarray(image).convert("RGB")
    right = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    out = Image.new("RGB", (image.shape[1] * 2, image.shape[0] + 16), "white")
    out.paste(left, (0, 16))
    out.paste(right, (image.shape[1], 16))
    ImageDraw.Draw(out).text((2, 2), title, fill="black")
    return out


def check(
    model: SegFindNet,
    valid: MixedArrays,
    out: Path,
    per_kind: int = 3,
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    by_kind: dict[str, list[int]] = {}
    for i in range(len(valid)):
        by_kind.setdefault(valid.kind(i), []).append(i)
    result: dict[str, Any] = {}
    for kind, idx in sorted(by_kind.items()):
        rows = []
        for i in idx[:: max(1, len(idx) // per_kind)][:per_kind]:
            base, heat = occlusion_map(model, valid.images[i])
            share = border_share(heat)
            p = 1 / (1 + np.exp(-base))
            name = f"{kind}-{Path(valid.names[i]).stem}.png"
            picture(valid.images[i], heat, f"{kind} p={p:.2f} border={share:.2f}").save(out / name)
            rows.append(
                {
                    "film": valid.names[i],
                    "presence_logit": round(base, 3),
                    "border_share": round(share, 3),
                    "picture": name,
                }
            )
        result[kind] = rows
    shares = [r["border_share"] for rows in result.values() for r in rows]
    result["mean_border_share"] = round(float(np.mean(shares)), 3)
    result["border_area_share"] = round(1 - (1 - 2 * BAND) ** 2, 3)
    (out / "where_it_looks.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--data", default="../shared/data/qata-cov19")
    p.add_argument("--negatives", default="../shared/data/cxr-negatives")
    p.add_argument("--per-kind", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from training.export import load_checkpoint

    model, _ = load_checkpoint(a.checkpoint)
    valid = load_mixed(a.data, a.negatives, "valid")
    print(json.dumps(check(model, valid, Path(a.out), a.per_kind), indent=2))


if __name__ == "__main__":
    main()
