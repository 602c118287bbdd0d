"""The training loop: resumable, seeded, CPU by default, CUDA with bf16 autocast when present.

The learning-rate schedule follows progress = max(step / total steps, elapsed / time budget),
so a run given a wall-clock budget still finishes its cosine decay inside it.

Issue 13: the run mixes QaTa with cxr-negatives (training.mixed) in balanced batches
(training.sampling), puts archive traces on every film (training.film_artifacts) and trains the
presence logit beside the mask and zones (training.losses.masked_loss). Each batch and its
augmentation depend only on (seed, step), so a run resumed from last.pt continues exactly.
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

from training.augment import augment
from training.film_artifacts import artifacts_batch
from training.losses import masked_loss
from training.mixed import MixedArrays, load_mixed, split_holdout
from training.model import DEFAULT_WIDTHS, SegFindNet, count_parameters
from training.sampling import BalancedSampler
from training.validate import MEAN, STD, evaluate_mixed, normalise, selection_score

__all__ = ["MEAN", "STD", "TrainConfig", "normalise", "train"]
LOG_EVERY = 25  # steps between progress lines in the log


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
    negatives: str | None = None  # ../shared/data/cxr-negatives; None trains on QaTa alone
    steps_per_epoch: int | None = None  # default: one pass over the train films' count
    warm_start_onnx: str | None = None  # start from an exported model's weights (new runs only)
    artifacts: bool = True  # training.film_artifacts on every film
    holdout_share: float = 0.0  # QaTa train rows kept out to score zone flags (e.g. 0.15)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _lr_factor(progress: float, warmup: float) -> float:
    if progress < warmup:
        return max(progress / warmup, 1e-3)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - warmup) / (1 - warmup))))


def _batch(
    arr: MixedArrays,
    idx: np.ndarray,
    cfg: TrainConfig,
    step: int,
    gen: torch.Generator,
    device: torch.device,
) -> dict[str, torch.Tensor]:
    images, masks = arr.images[idx], arr.masks[idx]
    if cfg.artifacts:
        images, masks = artifacts_batch(images, masks, np.random.default_rng([cfg.seed, step, 1]))
    gen.manual_seed(cfg.seed * 1_000_003 + step)
    x, m = augment(
        torch.from_numpy(images).unsqueeze(1).to(device).float() / 255.0,
        torch.from_numpy(masks).unsqueeze(1).to(device).float(),
        gen,
    )
    return {
        "images": x,
        "masks": m,
        "has_mask": torch.from_numpy(arr.has_mask[idx]).to(device),
        "zones": torch.from_numpy(arr.zones[idx]).to(device),
        "has_zones": torch.from_numpy(arr.has_zones[idx]).to(device),
        "presence": torch.from_numpy(arr.presence[idx]).to(device),
    }


def _init_weights(
    model: SegFindNet, cfg: TrainConfig, train_arr: MixedArrays, device: torch.device
) -> None:
    if cfg.init_from:
        ckpt = torch.load(cfg.init_from, map_location=device, weights_only=False)
        missing, unexpected = model.load_state_dict(ckpt["model"], strict=False)
        if unexpected or any(not k.startswith("presence_head.") for k in missing):
            raise ValueError(
                f"{cfg.init_from}: does not fit SegFindNet{tuple(cfg.widths)} "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        print(f"initialised from {cfg.init_from} ({len(missing)} new tensors)", flush=True)
    if cfg.warm_start_onnx:
        from training.warm_start import load_onnx_weights

        outlined = np.flatnonzero(train_arr.has_zones)[:256]
        calib = normalise(torch.from_numpy(train_arr.images[outlined]).unsqueeze(1)).to(device)
        done = load_onnx_weights(model, cfg.warm_start_onnx, calib)
        print(f"warm start from {cfg.warm_start_onnx}: {done}", flush=True)


def _log_row(
    state: dict[str, Any],
    loss_parts: dict[str, float],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    t = metrics.get("presence", {}).get("targets", {})
    return {
        "epoch": state["epoch"],
        "step": state["step"],
        "elapsed_s": round(state["elapsed"], 1),
        "loss": {k: round(v, 4) for k, v in loss_parts.items()},
        **{k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)},
        "images": metrics["images"],
        "presence_threshold": metrics.get("presence", {}).get("threshold"),
        **t,
        "flagged_per_kind": {
            k: v["flagged"] for k, v in metrics.get("presence", {}).get("per_kind", {}).items()
        },
    }


def train(cfg: TrainConfig) -> dict[str, Any]:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    t_load = time.perf_counter()
    train_arr = load_mixed(cfg.data, cfg.negatives, "train", cfg.csv, cfg.limit)
    valid_arr = load_mixed(cfg.data, cfg.negatives, "valid", cfg.csv, cfg.limit)
    train_arr, holdout_arr = split_holdout(train_arr, cfg.holdout_share)
    print(
        f"loaded {len(train_arr)} train / {len(valid_arr)} valid images "
        f"in {time.perf_counter() - t_load:.1f}s on {device}",
        flush=True,
    )
    sampler = BalancedSampler(
        train_arr.groups, train_arr.presence.tolist(), cfg.batch_size, cfg.seed
    )
    print(json.dumps({"sampling": sampler.describe()}), flush=True)

    model = SegFindNet(tuple(cfg.widths)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = cfg.steps_per_epoch or max(1, len(train_arr) // cfg.batch_size)
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
    else:
        _init_weights(model, cfg, train_arr, device)
    gen = torch.Generator(device=device)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    print(f"model: {count_parameters(model):,} parameters", flush=True)

    start = time.perf_counter() - state["elapsed"]
    done = False
    parts: dict[str, float] = {}
    while state["epoch"] < cfg.epochs and not done:
        bar = tqdm(
            range(steps_per_epoch),
            desc=f"epoch {state['epoch'] + 1}/{cfg.epochs}",
            mininterval=5,
            leave=False,
        )
        t_epoch = time.perf_counter()
        for b in bar:
            progress = state["step"] / total_steps
            if cfg.time_budget_s:
                progress = max(progress, (time.perf_counter() - start) / cfg.time_budget_s)
            if progress >= 1.0:
                done = True
                break
            for g in opt.param_groups:
                g["lr"] = cfg.lr * _lr_factor(progress, cfg.warmup)
            batch = _batch(train_arr, sampler.batch(state["step"]), cfg, state["step"], gen, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                o = model((batch["images"] - MEAN) / STD)
            loss, parts = masked_loss(
                o.mask_logits,
                o.zone_logits,
                o.presence_logit,
                batch["masks"],
                batch["has_mask"],
                batch["zones"],
                batch["has_zones"],
                batch["presence"],
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state["step"] += 1
            if b % LOG_EVERY == 0:
                rate = (b + 1) * cfg.batch_size / (time.perf_counter() - t_epoch)
                bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{opt.param_groups[0]['lr']:.1e}")
                print(
                    json.dumps(
                        {
                            "step": state["step"],
                            "epoch_step": b + 1,
                            "lr": round(opt.param_groups[0]["lr"], 6),
                            "img_per_s": round(rate, 1),
                            **{k: round(v, 4) for k, v in parts.items()},
                        }
                    ),
                    flush=True,
                )
            if cfg.max_steps and state["step"] >= cfg.max_steps:
                done = True
                break
        state["epoch"] += 1
        state["elapsed"] = time.perf_counter() - start
        metrics = evaluate_mixed(model, valid_arr, device)
        score = selection_score(metrics)
        row = _log_row(state, parts, metrics)
        if len(holdout_arr):
            held = evaluate_mixed(model, holdout_arr, device)
            row["train_holdout"] = {
                k: round(held[k], 4) for k in ("images", "dice_accumulated", "zone_macro_f1")
            }
        with open(out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
        if score > state["best"]:
            state["best"] = score
            torch.save(
                {"model": model.state_dict(), "widths": list(cfg.widths), "metrics": row},
                out / "best.pt",
            )
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "state": state,
                "rng_cpu": torch.get_rng_state(),
                "widths": list(cfg.widths),
            },
            last,
        )
    best = torch.load(out / "best.pt", map_location="cpu", weights_only=False)
    return {"best": best["metrics"], "out": str(out), "parameters": count_parameters(model)}


def main(argv: list[str] | None = None) -> None:
    """`python -m training.train ...`: every TrainConfig field as a --flag (issue 13's runs)."""
    import argparse

    p = argparse.ArgumentParser(description="train SegFindNet (resumes from OUT/last.pt)")
    defaults = TrainConfig()
    for name, value in asdict(defaults).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        elif name == "widths":
            p.add_argument(flag, default=",".join(map(str, value)))
        else:
            kind = {
                "epochs": int,
                "batch_size": int,
                "seed": int,
                "limit": int,
                "max_steps": int,
                "threads": int,
                "steps_per_epoch": int,
                "lr": float,
                "weight_decay": float,
                "warmup": float,
                "time_budget_s": float,
            }.get(name, str)
            p.add_argument(flag, type=kind, default=value)
    args = vars(p.parse_args(argv))
    args["widths"] = tuple(int(w) for w in str(args["widths"]).split(","))
    print(json.dumps(train(TrainConfig(**args))), flush=True)


if __name__ == "__main__":
    main()
