"""Issue 13's targets per source and population, measured through the inference pipeline (what
a person gets: scope gate, image-level decision, mask), with no torch import.

Films: QaTa valid (COVID-19, outlined) and cxr-negatives valid (normal, pneumonia, tuberculosis;
labels.csv). Kinds are `<label>-<population>` ("normal-adult", "qata"). The score for AUROC is
the calibrated lesion_probability of a v2 model; a v1 model has none, so its lesion burden
(share of the film outlined) stands in, and the report says which score it used.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from inference.errors import InputError
from inference.pipeline import Predictor
from training.calibration import auroc

BATCH = 32
TARGETS = {  # kind group -> (what, floor)
    "normal-adult": ("read as no lesion", 0.92),
    "normal-pediatric": ("read as no lesion", 0.90),
    "pneumonia+tuberculosis": ("flagged", 0.92),
    "qata": ("flagged", 0.98),
}
AUROC_TARGET = 0.97
REFUSED_BUDGET = 0.005


def films(
    qata: str | Path, negatives: str | Path, split: str = "valid"
) -> list[tuple[Path, str, str]]:
    """(path, kind, source) of every film of the split."""
    q, n = Path(qata), Path(negatives)
    out: list[tuple[Path, str, str]] = []
    with open(q / "annotations.csv") as f:
        out += [
            (q / "images" / r["image"], "qata", "qata-cov19")
            for r in csv.DictReader(f)
            if r["split"] == split
        ]
    with open(n / "labels.csv") as f:
        out += [
            (
                n / "images" / r["image"],
                f"{r['label']}-{r['population']}",
                r["source"].split("@")[0],
            )
            for r in csv.DictReader(f)
            if r["split"] == split
        ]
    return out


def _share(values: list[bool]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def evaluate_populations(
    qata: str | Path,
    negatives: str | Path,
    model: str | None = None,
    split: str = "valid",
    limit: int | None = None,
) -> dict[str, Any]:
    predictor = Predictor(model)
    items = films(qata, negatives, split)[:limit]
    flagged: dict[str, list[bool]] = defaultdict(list)
    by_source: dict[str, list[bool]] = defaultdict(list)
    refused: dict[str, list[bool]] = defaultdict(list)
    scores: list[float] = []
    abnormal: list[bool] = []
    v2 = bool(predictor.manifest.presence)
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        results = predictor.predict_batch([p.read_bytes() for p, _, _ in chunk])
        for (path, kind, source), res in zip(chunk, results, strict=True):
            if isinstance(res, InputError):
                raise ValueError(f"{path}: {res}")
            refused[kind].append(not res.in_scope)
            present = bool(res.in_scope and res.lesion_present)
            flagged[kind].append(present)
            by_source[f"{source} {kind.split('-')[0]}"].append(present)
            score = (res.lesion_probability if v2 else res.lesion_burden_percent) or 0.0
            scores.append(float(score) if res.in_scope else 0.0)
            abnormal.append(not kind.startswith("normal"))
    kinds = sorted(flagged)
    per_kind = {
        k: {"films": len(flagged[k]), "flagged": _share(flagged[k]), "refused": _share(refused[k])}
        for k in kinds
    }
    targets: dict[str, Any] = {}
    for group, (what, floor) in TARGETS.items():
        members = [
            f
            for k in kinds
            if (k == group if "-" in group else k.split("-")[0] in group.split("+"))
            for f in flagged[k]
        ]
        rate = _share([not f for f in members] if what == "read as no lesion" else members)
        targets[f"{group} {what}"] = {
            "value": rate,
            "target": floor,
            "met": rate is not None and rate >= floor,
        }
    area = auroc(np.array(scores), np.array(abnormal))
    targets["auroc normal vs abnormal"] = {
        "value": None if area is None else round(area, 4),
        "target": AUROC_TARGET,
        "met": area is not None and area >= AUROC_TARGET,
    }
    all_refused = [r for k in kinds for r in refused[k]]
    targets["chest films refused"] = {
        "value": _share(all_refused),
        "target": REFUSED_BUDGET,
        "met": (_share(all_refused) or 0.0) <= REFUSED_BUDGET,
    }
    return {
        "split": split,
        "model": predictor.model_info,
        "films": len(items),
        "score": "lesion_probability" if v2 else "lesion_burden_percent (v1: no presence head)",
        "targets": targets,
        "per_kind": per_kind,
        "flagged_per_source": {
            s: {"films": len(v), "flagged": _share(v)} for s, v in sorted(by_source.items())
        },
    }
