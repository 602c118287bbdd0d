"""`medsegtext evaluate --negatives`: issue 13's targets per source and population, computed
through the pipeline with the shipped model on a small real slice (each rate checked against
the films' own predictions)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from inference.pipeline import Predictor
from tests.shared_data import require

NEGATIVES = [
    "adult-normal-1446.png",
    "pediatric-normal-0341.png",
    "adult-pneumonia-nih-0086.png",
    "tuberculosis-adult-0299.png",
]
QATA = ["covid_1.png", "sub-s11278_ses-e20123_run-1_bp-chest_vp-ap_dx.png"]
ROOT = Path(__file__).resolve().parents[2]


def slice_of(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A QaTa-layout folder and a cxr-negatives-layout folder with a few real valid films."""
    q, n = tmp_path / "qata", tmp_path / "neg"
    for folder in (q / "images", q / "masks", n / "images"):
        folder.mkdir(parents=True)
    src_q, src_n = shared_data / "qata-cov19", shared_data / "cxr-negatives"
    with open(src_q / "annotations.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["image"] in QATA]
    with open(q / "annotations.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({**r, "split": "valid"})
            (q / "images" / r["image"]).symlink_to(src_q / "images" / r["image"])
            (q / "masks" / r["mask"]).symlink_to(src_q / "masks" / r["mask"])
    with open(src_n / "labels.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["image"] in NEGATIVES]
    with open(n / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow(r)
            (n / "images" / r["image"]).symlink_to(src_n / "images" / r["image"])
    return q, n


def test_evaluate_with_negatives_reports_every_target(shared_data: Path, tmp_path: Path):
    require(shared_data / "cxr-negatives" / "labels.csv", what="cxr-negatives")
    q, n = slice_of(shared_data, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "medsegtext", "evaluate", "--data", str(q), "--negatives", str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    pop = json.loads(proc.stdout)["populations"]
    assert pop["films"] == 6
    assert set(pop["targets"]) == {
        "normal-adult read as no lesion",
        "normal-pediatric read as no lesion",
        "pneumonia+tuberculosis flagged",
        "qata flagged",
        "auroc normal vs abnormal",
        "chest films refused",
    }
    predictor = Predictor()
    present = {
        name: bool(predictor.predict((folder / "images" / name).read_bytes()).lesion_present)
        for folder, names in ((q, QATA), (n, NEGATIVES))
        for name in names
    }
    t = pop["targets"]
    assert t["normal-adult read as no lesion"]["value"] == float(
        not present["adult-normal-1446.png"]
    )
    assert t["qata flagged"]["value"] == sum(present[x] for x in QATA) / 2
    assert (
        t["pneumonia+tuberculosis flagged"]["value"]
        == (present["adult-pneumonia-nih-0086.png"] + present["tuberculosis-adult-0299.png"]) / 2
    )
    assert pop["per_kind"]["normal-pediatric"]["films"] == 1
    assert t["chest films refused"]["value"] == 0.0
