"""Every valid film (QaTa valid and cxr-negatives valid) through the pipeline with the shipped
model: no output may contradict another."""

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from inference import sides
from inference.pipeline import Prediction, Predictor
from inference.postprocess import zone_pixels
from tests.shared_data import require

BATCH = 32


def valid_films(shared_data: Path) -> list[Path]:
    qata = shared_data / "qata-cov19"
    neg = shared_data / "cxr-negatives"
    require(qata / "annotations.csv", neg / "labels.csv", what="QaTa-COV19 and cxr-negatives")
    with open(qata / "annotations.csv") as f:
        films = [qata / "images" / r["image"] for r in csv.DictReader(f) if r["split"] == "valid"]
    with open(neg / "labels.csv") as f:
        films += [neg / "images" / r["image"] for r in csv.DictReader(f) if r["split"] == "valid"]
    return films


def predictions(predictor: Predictor, films: list[Path]) -> Iterator[tuple[Path, Prediction]]:
    for start in range(0, len(films), BATCH):
        chunk = films[start : start + BATCH]
        for path, out in zip(
            chunk, predictor.predict_batch([p.read_bytes() for p in chunk]), strict=True
        ):
            assert isinstance(out, Prediction), f"{path}: {out}"
            yield path, out


def contradictions(out: Prediction, predictor: Predictor) -> list[str]:
    """What in one film's outputs disagrees with the rest."""
    if not out.in_scope:
        return (
            []
            if (out.mask_png == b"" and out.findings_text is None and not out.zone_flags)
            else ["refused but has findings"]
        )
    mask = np.asarray(Image.open(io.BytesIO(out.mask_png))) > 0
    outlined = sides.to_patient(zone_pixels(mask, predictor.manifest))
    flags = out.zone_flags
    problems = []
    if any(on and outlined[z] == 0 for z, on in flags.items()):
        problems.append("zone flagged without outlined lesion")
    if mask.any() and not any(flags.values()):
        problems.append("lesion outlined but no zone named")
    if (out.lesion_burden_percent == 0) != (not mask.any()):
        problems.append("burden disagrees with the mask")
    if abs((out.lesion_burden_percent or 0) - 100 * mask.mean()) > 0.01:
        problems.append("burden is not the mask's")
    if not out.lesion_present and (mask.any() or any(flags.values())):
        problems.append("no lesion, yet something is outlined")
    if out.lesion_probability is None and out.lesion_present != bool(mask.any()):
        problems.append("v1: lesion_present is not 'mask not empty'")
    if out.findings_text != sides.sentence(flags, out.lesion_present):
        problems.append("sentence does not match the flags")
    if out.laterality != sides.laterality(flags):
        problems.append("laterality does not match the flags")
    return problems


def check(predictor: Predictor, films: list[Path]) -> dict[str, int]:
    bad: dict[str, list[str]] = {}
    counts = {"films": 0, "present": 0, "no_focal_opacity": 0}
    for path, out in predictions(predictor, films):
        counts["films"] += 1
        counts["present"] += bool(out.lesion_present)
        counts["no_focal_opacity"] += out.findings_text == sides.NO_LESION_SENTENCE
        problems = contradictions(out, predictor)
        if problems:
            bad[path.name] = problems
    assert not bad, f"{len(bad)} films contradict themselves, e.g. {list(bad.items())[:5]}"
    return counts


def test_every_valid_film_tells_one_story_with_the_shipped_model(shared_data):
    films = valid_films(shared_data)
    predictor = Predictor()
    assert predictor.manifest.presence and predictor.manifest.scope  # the v2 decision is shipped
    counts = check(predictor, films)
    assert counts["films"] == len(films) > 1900
    assert 0 < counts["no_focal_opacity"] < counts["films"]
    assert 0 < counts["present"] < counts["films"]
