"""One in-memory training set from QaTa-COV19 (lesion outlines) and cxr-negatives (image labels).

What each film teaches (issue 13):
- QaTa: its mask, its zone flags, presence 1.
- cxr-negatives `normal`: an empty mask (a normal film has no lesion) and presence 0.
- cxr-negatives `pneumonia` / `tuberculosis`: presence 1 only. These films are abnormal but carry
  no COVID-19 outline, so an empty mask would teach "this opacity is not a lesion". Their mask is
  stored as IGNORE (255) everywhere, never as zeros, and `has_mask` is False: the loss skips them.

Splits are the data sets' own (`train` / `valid`).
"""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.data import DatasetError, load_arrays, read_records

IGNORE = 255  # mask value of films whose lesion outline is unknown
QATA_GROUP = "qata"
LABELS = ("normal", "pneumonia", "tuberculosis")


@dataclass(frozen=True)
class NegativeRecord:
    image: Path
    label: str  # normal | pneumonia | tuberculosis
    population: str  # adult | pediatric | unknown
    split: str
    group: str  # archive and kind, from the file name: adult-normal-nih, pediatric-pneumonia...


def group_of(name: str) -> str:
    """`adult-normal-nih-0007.png` -> `adult-normal-nih`."""
    stem = Path(name).stem
    head, _, tail = stem.rpartition("-")
    return head if tail.isdigit() and head else stem


def read_negatives(root: str | Path, split: str | None = None) -> list[NegativeRecord]:
    root = Path(root)
    path = root / "labels.csv"
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise DatasetError(f"{path}: no rows")
    out = []
    for row in rows:
        if row.get("label") not in LABELS:
            raise DatasetError(
                f"{path}: label {row.get('label')!r} for {row.get('image')} is "
                f"not one of {', '.join(LABELS)}"
            )
        out.append(
            NegativeRecord(
                image=root / "images" / row["image"],
                label=row["label"],
                population=row.get("population") or "unknown",
                split=row["split"],
                group=group_of(row["image"]),
            )
        )
    return [r for r in out if split is None or r.split == split]


@dataclass
class MixedArrays:
    images: np.ndarray  # (N, H, W) uint8
    masks: np.ndarray  # (N, H, W) uint8: 0/1, or IGNORE where has_mask is False
    has_mask: np.ndarray  # (N,) bool
    presence: np.ndarray  # (N,) float32 0/1
    zones: np.ndarray  # (N, 6) float32, image-side order of the QaTa CSV
    has_zones: np.ndarray  # (N,) bool
    groups: list[str]  # "qata" or a cxr-negatives group
    labels: list[str]  # "covid" (QaTa), normal, pneumonia, tuberculosis
    populations: list[str]
    names: list[str]
    descriptions: list[str]

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, idx: np.ndarray) -> MixedArrays:
        pick = [int(i) for i in idx]
        return MixedArrays(
            images=self.images[idx],
            masks=self.masks[idx],
            has_mask=self.has_mask[idx],
            presence=self.presence[idx],
            zones=self.zones[idx],
            has_zones=self.has_zones[idx],
            groups=[self.groups[i] for i in pick],
            labels=[self.labels[i] for i in pick],
            populations=[self.populations[i] for i in pick],
            names=[self.names[i] for i in pick],
            descriptions=[self.descriptions[i] for i in pick],
        )

    def kind(self, i: int) -> str:
        """The evaluation population: qata, normal-adult, pneumonia-pediatric, ..."""
        if self.groups[i] == QATA_GROUP:
            return QATA_GROUP
        return f"{self.labels[i]}-{self.populations[i]}"


def _load_gray(path: Path, size: int) -> np.ndarray:
    try:
        img = Image.open(path).convert("L")
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path}: cannot read ({e})") from e
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def load_mixed(
    qata: str | Path,
    negatives: str | Path | None,
    split: str,
    csv_name: str | None = None,
    limit: int | None = None,
    size: int = 224,
) -> MixedArrays:
    """QaTa rows first, then cxr-negatives rows (if a folder is given). `limit` caps each source
    (taking every kind of negative in turn, so a small limit still holds all kinds)."""
    q_recs = read_records(qata, csv_name, split=split)[:limit]
    q = load_arrays(q_recs, size)
    n = len(q_recs)
    neg = read_negatives(negatives, split) if negatives is not None else []
    if limit is not None:
        neg = _round_robin(neg, limit)
    with ThreadPoolExecutor(4) as pool:
        neg_images = list(pool.map(lambda r: _load_gray(r.image, size), neg))
    m = len(neg)
    normal = np.array([r.label == "normal" for r in neg], bool)
    neg_masks = np.full((m, size, size), IGNORE, np.uint8)
    neg_masks[normal] = 0
    empty = np.zeros((0, size, size), np.uint8)
    return MixedArrays(
        images=np.concatenate([q.images, np.stack(neg_images) if m else empty]),
        masks=np.concatenate([q.masks, neg_masks]),
        has_mask=np.concatenate([np.ones(n, bool), normal]),
        presence=np.concatenate([np.ones(n, np.float32), (~normal).astype(np.float32)]),
        zones=np.concatenate([q.zones, np.zeros((m, 6), np.float32)]),
        has_zones=np.concatenate([np.ones(n, bool), np.zeros(m, bool)]),
        groups=[QATA_GROUP] * n + [r.group for r in neg],
        labels=["covid"] * n + [r.label for r in neg],
        populations=["adult"] * n + [r.population for r in neg],
        names=q.names + [r.image.name for r in neg],
        descriptions=q.descriptions + [""] * m,
    )


def _round_robin(recs: list[NegativeRecord], limit: int) -> list[NegativeRecord]:
    by_group: dict[str, list[NegativeRecord]] = {}
    for r in recs:
        by_group.setdefault(r.group, []).append(r)
    out: list[NegativeRecord] = []
    for i in range(max((len(v) for v in by_group.values()), default=0)):
        for g in sorted(by_group):
            if i < len(by_group[g]) and len(out) < limit:
                out.append(by_group[g][i])
    return out


def split_holdout(train: MixedArrays, share: float) -> tuple[MixedArrays, MixedArrays]:
    """The last `share` of QaTa's train rows, kept out of training to score zone flags on
    (valid labels zones differently: training.zone_ceiling). Negatives all stay in training."""
    qata = np.flatnonzero(np.asarray(train.groups) == QATA_GROUP)
    n_out = round(len(qata) * share)
    held = qata[len(qata) - n_out :] if n_out else qata[:0]
    if not n_out:
        return train, train.subset(held)
    keep = np.setdiff1d(np.arange(len(train)), held)
    return train.subset(keep), train.subset(held)
