"""Temperature scaling, reliability, AUROC and the operating threshold."""

import numpy as np
import pytest

from training.calibration import (
    auroc,
    calibrate,
    choose_threshold,
    fit_temperature,
    rates,
    reliability,
    sigmoid,
)


def test_temperature_recovers_the_scale_of_overconfident_logits():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 2, 20000)
    labels = (rng.random(20000) < sigmoid(true_logit)).astype(float)
    t = fit_temperature(true_logit * 3, labels)  # a model 3x too confident
    assert t == pytest.approx(3, rel=0.05)
    ece_raw, _ = reliability(sigmoid(true_logit * 3), labels)
    ece_fit, bins = reliability(sigmoid(true_logit * 3 / t), labels)
    assert ece_fit < 0.02 < ece_raw
    assert sum(b["films"] for b in bins) == 20000


def test_auroc_hand_computed_with_ties():
    # positives 0.9, 0.5; negatives 0.5, 0.1: pairs (0.9>0.5, 0.9>0.1, 0.5=0.5, 0.5>0.1) -> 3.5/4
    assert auroc(np.array([0.9, 0.5, 0.5, 0.1]), np.array([1, 1, 0, 0])) == pytest.approx(0.875)
    assert auroc(np.array([0.3, 0.2]), np.array([1, 1])) is None


def test_threshold_is_the_highest_that_meets_every_floor():
    probs = np.array(
        [
            0.95,
            0.9,
            0.8,
            0.3,  # qata
            0.7,
            0.6,  # pneumonia, tuberculosis
            0.5,
            0.2,
            0.1,
        ]
    )  # normals
    kinds = ["qata"] * 4 + ["pneumonia-adult", "tuberculosis-adult"] + ["normal-adult"] * 3
    # qata >= 0.75 needs 3 of 4 flagged -> t <= 0.8; pneumonia+TB >= 0.5 needs 1 of 2 -> <= 0.7
    t = choose_threshold(probs, kinds, {"qata": 0.75, "pneumonia+tuberculosis": 0.5})
    assert t == 0.7
    r = rates(probs, kinds, np.array([1] * 6 + [0] * 3), t)
    assert r["per_kind"]["qata"]["flagged"] == 0.75
    assert r["targets"]["normal-adult read as no lesion"] == 1.0
    assert r["targets"]["pneumonia+tuberculosis flagged"] == 0.5


def test_calibrate_reports_what_the_manifest_needs():
    rng = np.random.default_rng(1)
    kinds = (
        ["qata"] * 300
        + ["pneumonia-pediatric"] * 100
        + ["normal-adult"] * 200
        + ["normal-pediatric"] * 100
    )
    presence = np.array([1] * 400 + [0] * 300, float)
    logits = np.where(presence > 0, rng.normal(4, 2, 700), rng.normal(-4, 2, 700))
    c = calibrate(logits, kinds, presence)
    assert c["valid"]["targets"]["qata flagged"] >= 0.98
    assert c["valid"]["targets"]["pneumonia+tuberculosis flagged"] >= 0.92
    assert 0 < c["threshold"] < 1 and c["temperature"] > 0
    assert c["valid"]["targets"]["auroc normal vs abnormal"] > 0.97
    assert set(c["cross_fitted"]["targets"]) == set(c["valid"]["targets"])
    assert c["ece"] <= c["ece_before_scaling"] + 1e-9


def test_platt_scaling_also_moves_the_prevalence():
    from training.calibration import fit_platt

    rng = np.random.default_rng(2)
    true_logit = rng.normal(1.5, 2, 20000)  # the deployment mix is mostly abnormal
    labels = (rng.random(20000) < sigmoid(true_logit)).astype(float)
    seen = (true_logit - 1.5) * 2  # the model: 2x too confident and centred on a balanced mix
    t, b = fit_platt(seen, labels)
    assert t == pytest.approx(2, rel=0.05) and b == pytest.approx(1.5, abs=0.1)
    ece_platt, _ = reliability(sigmoid(seen / t + b), labels)
    ece_temp, _ = reliability(sigmoid(seen / fit_temperature(seen, labels)), labels)
    assert ece_platt < 0.02 < ece_temp
