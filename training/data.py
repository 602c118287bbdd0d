"""QaTa-COV19 loaders: the annotations.csv of ../shared/data/qata-cov19 and the original
LViT/MMI-UNet prompt CSV (`Image,Description`), both read into one in-memory dataset."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from inference.findings import FindingsParseError, parse


@dataclass(frozen=True)
class Record:
    image: Path
    mask: Path
    description: str
    zones: tuple[bool, ...]
    split: str


class DatasetError(ValueError):
    """A data folder or CSV that cannot be read; the message names the file and the reason."""


def _zones_from(row: dict[str, str], source: Path) -> tuple[bool, ...]:
    if row.get("zones"):
        flags = row["zones"].split()
        if len(flags) != 6 or any(f not in ("0", "1") for f in flags):
            raise DatasetError(f"{source}: bad zones {row['zones']!r} for {row.get('image')}")
        return tuple(f == "1" for f in flags)
    try:
        return parse(row["description"]).zones
    except FindingsParseError as e:
        raise DatasetError(f"{source}: {e}") from e


def read_records(
    root: str | Path,
    csv_name: str | None = None,
    split: str | None = None,
) -> list[Record]:
    """Records from `root/annotations.csv` (QaTa layout) or an LViT prompt CSV.

    LViT CSVs have `Image,Description` and no split column: their split is taken from the file
    name (`Train_text.csv` -> train, `Val_text.csv` -> valid, else `test`).
    """
    root = Path(root)
    path = root / (csv_name or "annotations.csv")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise DatasetError(f"{path}: no rows")
    records = []
    lvit = "Image" in rows[0] and "image" not in rows[0]
    default_split = _split_from_name(path.name)
    img_dir = _first_dir(root, ("images", "img", "Images"))
    mask_dir = _first_dir(root, ("masks", "labelcol", "GTs"))
    for row in rows:
        if lvit:
            name = row["Image"]
            row = {"image": name, "mask": f"mask_{name}", "description": row["Description"]}
        records.append(
            Record(
                image=img_dir / row["image"],
                mask=mask_dir / row["mask"],
                description=row["description"].strip(),
                zones=_zones_from(row, path),
                split=row.get("split") or default_split,
            )
        )
    if split is not None:
        records = [r for r in records if r.split == split]
    return records


def _first_dir(root: Path, names: tuple[str, ...]) -> Path:
    """QaTa uses images/ and masks/, LViT's release img/ and labelcol/."""
    for n in names:
        if (root / n).is_dir():
            return root / n
    return root / names[0]


def _split_from_name(name: str) -> str:
    low = name.lower()
    if low.startswith("train"):
        return "train"
    if low.startswith("val"):
        return "valid"
    return "test"


@dataclass
class Arrays:
    images: np.ndarray  # (N, H, W) uint8
    masks: np.ndarray  # (N, H, W) uint8 0/1
    zones: np.ndarray  # (N, 6) float32 0/1
    descriptions: list[str]
    names: list[str]


def _load_pair(rec: Record, size: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        img = Image.open(rec.image).convert("L")
        mask = Image.open(rec.mask).convert("L")
    except (OSError, ValueError) as e:
        raise DatasetError(f"{rec.image}: cannot read ({e})") from e
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    if mask.size != (size, size):
        mask = mask.resize((size, size), Image.Resampling.NEAREST)
    return np.asarray(img, dtype=np.uint8), (np.asarray(mask) > 0).astype(np.uint8)


def load_arrays(records: list[Record], size: int = 224, workers: int = 8) -> Arrays:
    with ThreadPoolExecutor(workers) as pool:
        pairs = list(pool.map(lambda r: _load_pair(r, size), records))
    return Arrays(
        images=np.stack([p[0] for p in pairs]) if pairs else np.zeros((0, size, size), np.uint8),
        masks=np.stack([p[1] for p in pairs]) if pairs else np.zeros((0, size, size), np.uint8),
        zones=np.array([r.zones for r in records], dtype=np.float32).reshape(-1, 6),
        descriptions=[r.description for r in records],
        names=[r.image.name for r in records],
    )
