"""A few real films of every kind copied into temp folders, for fast end-to-end tests."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path


def tiny_qata(src: Path, dst: Path, train: int = 6, valid: int = 4) -> Path:
    with open(src / "annotations.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pick = [r for r in rows if r["split"] == "train"][:train] + [
        r for r in rows if r["split"] == "valid"
    ][:valid]
    (dst / "images").mkdir(parents=True)
    (dst / "masks").mkdir()
    for r in pick:
        shutil.copy(src / "images" / r["image"], dst / "images")
        shutil.copy(src / "masks" / r["mask"], dst / "masks")
    with open(dst / "annotations.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(pick)
    return dst


def tiny_negatives(src: Path, dst: Path, per_kind: int = 1) -> Path:
    """`per_kind` train and valid films of each label x population."""
    with open(src / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    seen: dict[tuple[str, str, str], int] = {}
    pick = []
    for r in rows:
        key = (r["split"], r["label"], r["population"])
        if seen.get(key, 0) < per_kind:
            seen[key] = seen.get(key, 0) + 1
            pick.append(r)
    (dst / "images").mkdir(parents=True)
    for r in pick:
        shutil.copy(src / "images" / r["image"], dst / "images")
    with open(dst / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(pick)
    return dst
