"""The frozen route's presence head: class balance, and the standardisation folded into the
exported layer (the head must work on raw inputs, as the ONNX graph feeds it)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is missing: it comes with the training extra")

from torch import nn  # noqa: E402

from training.frozen_head import fit_head, head_logits, sample_weights  # noqa: E402


def test_normals_weigh_as_much_as_all_abnormal_films_and_kinds_share_their_side():
    kinds = np.array(
        ["qata"] * 60 + ["pneumonia-adult"] * 10 + ["normal-adult"] * 20 + ["normal-pediatric"] * 10
    )
    w = sample_weights(kinds)
    normal = np.char.startswith(kinds, "normal")
    assert w[normal].sum() == pytest.approx(w[~normal].sum())
    assert w[kinds == "qata"].sum() == pytest.approx(w[kinds == "pneumonia-adult"].sum())
    assert w.mean() == pytest.approx(1.0)


def test_folded_head_separates_raw_inputs_far_from_zero_mean_and_unit_scale():
    rng = np.random.default_rng(0)
    y = (rng.random(600) < 0.5).astype(np.float32)
    x = rng.normal(size=(600, 5)) * 40 + 300  # nothing like standardised
    x[:, 0] += y * 120  # one informative column, 3 sd apart
    head = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.0), nn.Linear(8, 1))
    fit_head(head, x, y, np.ones(600), epochs=300)
    accuracy = ((head_logits(head, x) > 0) == (y > 0.5)).mean()
    assert accuracy > 0.9
