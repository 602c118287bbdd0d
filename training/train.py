"""The training loop: resumable, seeded, CPU by default, CUDA with bf16 autocast when present.

The learning-rate schedule follows progress = max(step / total steps, elapsed / time budget),
so a run given a wall-clock budget still finishes its cosine decay inside it.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from inference.findings import render
from training.augment import augment
from training.data import Arrays, load_arrays, read_records
from training.losses import total_loss
from training.metrics import MetricAccumulator
from training.model import DEFAULT_WIDTHS, SegFindNet, count_parameters

MEAN, STD = 0.5, 0.25  # copied into the manifest at export; inference reads it from there


@dataclass
class TrainConfig:
    data: str = "../shared/data/qata-cov19"
    out: str = "runs/default"
    csv: str | None = None
    epochs: int = 40
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: float = 0.03
    time_budget_s: float | None = None
    seed: int = 0
    device: str = "auto"
    widths: tuple[int, ...] = DEFAULT_WIDTHS
    limit: int | None = None  # use only the first N train and valid images (smoke runs)
    max_steps: int | None = None  # stop after this many optimiser steps (smoke runs)
    init_from: str | None = None  # fine-tune from these weights
    threads: int | None = None


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _to_tensors(a: Arrays, device: torch.device) -> dict[str, torch.Tensor]:
    return {
        "images": torch.from_numpy(a.images).unsqueeze(1).to(device),
        "masks": torch.from_numpy(a.masks).unsqueeze(1).to(device),
        "zones": torch.from_numpy(a.zones).to(device),
    }


def normalise(images_u8: torch.Tensor) -> torch.Tensor:
    return (images_u8.float() / 255.0 - MEAN) / STD


@torch.no_grad()
def evaluate_model(model: SegFindNet, data: dict[str, torch.Tensor], descriptions: list[str],
                   device: torch.device, batch_size: int = 64) -> dict[str, float]:
    model.eval()
    acc = MetricAccumulator()
    n = data["images"].shape[0]
    for i in range(0, n, batch_size):
        x = normalise(data["images"][i:i + batch_size])
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            mask_logits, zone_logits = model(x)
        pred = (mask_logits.float() > 0).squeeze(1).cpu().numpy()
        acc.add_masks(pred, data["masks"][i:i + batch_size].squeeze(1).cpu().numpy() > 0)
        zp = (zone_logits.float() > 0).cpu().numpy()
        zt = data["zones"][i:i + batch_size].cpu().numpy() > 0.5
        for j in range(zp.shape[0]):
            acc.add_findings(zp[j], zt[j], render(list(zp[j])), descriptions[i + j])
    model.train()
    return acc.result()


def selection_score(metrics: dict[str, float]) -> float:
    """Best epoch = best mean of accumulated Dice and zone macro-F1 on the validation split."""
    return (metrics["dice_accumulated"] + metrics["zone_macro_f1"]) / 2


def _lr_factor(progress: float, warmup: float) -> float:
    if progress < warmup:
        return max(progress / warmup, 1e-3)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - warmup) / (1 - warmup))))


def train(cfg: TrainConfig) -> dict[str, Any]:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    t_load = time.perf_counter()
    train_recs = read_records(cfg.data, cfg.csv, split="train")[: cfg.limit]
    valid_recs = read_records(cfg.data, cfg.csv, split="valid")[: cfg.limit]
    train_arr, valid_arr = load_arrays(train_recs), load_arrays(valid_recs)
    train_t, valid_t = _to_tensors(train_arr, device), _to_tensors(valid_arr, device)
    print(f"loaded {len(train_recs)} train / {len(valid_recs)} valid images "
          f"in {time.perf_counter() - t_load:.1f}s on {device}", flush=True)

    model = SegFindNet(tuple(cfg.widths)).to(device)
    if cfg.init_from:
        model.load_state_dict(torch.load(cfg.init_from, map_location=device)["model"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(train_recs) // cfg.batch_size)
    total_steps = cfg.max_steps or cfg.epochs * steps_per_epoch
    state: dict[str, Any] = {"epoch": 0, "step": 0, "elapsed": 0.0, "best": -1.0}
    last = out / "last.pt"
    if last.exists():
        ckpt = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        state = ckpt["state"]
        torch.set_rng_state(ckpt["rng_cpu"])
        print(f"resumed from {last} at epoch {state['epoch']} step {state['step']}", flush=True)
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed + int(state["epoch"]))
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    print(f"model: {count_parameters(model):,} parameters", flush=True)

    start = time.perf_counter() - state["elapsed"]
    done = False
    while state["epoch"] < cfg.epochs and not done:
        perm = torch.randperm(len(train_recs), generator=gen, device=device)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {state['epoch'] + 1}/{cfg.epochs}",
                   mininterval=5, leave=False)
        for b in bar:
            idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            progress = state["step"] / total_steps
            if cfg.time_budget_s:
                progress = max(progress, (time.perf_counter() - start) / cfg.time_budget_s)
            if progress >= 1.0:
                done = True
                break
            for g in opt.param_groups:
                g["lr"] = cfg.lr * _lr_factor(progress, cfg.warmup)
            images, masks = augment(train_t["images"][idx].float() / 255.0,
                                    train_t["masks"][idx].float(), gen)
            with torch.autocast(device.type, dtype=torch.bfloat16,
                                enabled=device.type == "cuda"):
                mask_logits, zone_logits = model((images - MEAN) / STD)
            loss = total_loss(mask_logits, zone_logits, masks, train_t["zones"][idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state["step"] += 1
            if b % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{opt.param_groups[0]['lr']:.1e}")
        state["epoch"] += 1
        state["elapsed"] = time.perf_counter() - start
        metrics = evaluate_model(model, valid_t, valid_arr.descriptions, device)
        score = selection_score(metrics)
        row = {"epoch": state["epoch"], "step": state["step"],
               "elapsed_s": round(state["elapsed"], 1), "loss": round(loss.item(), 4),
               **{k: round(v, 4) for k, v in metrics.items()}}
        with open(out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
        if score > state["best"]:
            state["best"] = score
            torch.save({"model": model.state_dict(), "widths": list(cfg.widths),
                        "metrics": row}, out / "best.pt")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state,
                    "rng_cpu": torch.get_rng_state()}, last)
        if cfg.max_steps and state["step"] >= cfg.max_steps:
            break
    best = torch.load(out / "best.pt", map_location="cpu", weights_only=False)
    return {"best": best["metrics"], "out": str(out), "parameters": count_parameters(model)}
