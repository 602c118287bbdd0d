"""Fit the scope gate (training.scope) for a network: chest films in, made-up images out.

In-scope films: every 4th training film as it is, and another quarter through the training
augmentation (crops, borders, markers, JPEG, exposure), so that an unusual but real chest film is
not far from the fit. Thresholds come from the valid chest films.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.frozen_head import SEED, film_summaries
from training.mixed import load_mixed
from training.model import SegFindNet
from training.ood_images import make
from training.scope import OOD_TRAIN_SEED, ScopeGate, fit_gate

OOD_TRAIN_PER_KIND = 80


def fit_scope(model: SegFindNet, qata: str | Path, negatives: str | Path) -> ScopeGate:
    train = load_mixed(qata, negatives, "train")
    valid = load_mixed(qata, negatives, "valid")
    inside = np.concatenate(
        [
            film_summaries(model, train.images[::4])[1],
            film_summaries(model, train.images[2::4], seed=SEED + 100)[1],
        ]
    )
    ood, _ = make(OOD_TRAIN_PER_KIND, seed=OOD_TRAIN_SEED)
    return fit_gate(inside, film_summaries(model, valid.images)[1], film_summaries(model, ood)[1])
