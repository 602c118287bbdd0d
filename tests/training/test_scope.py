"""The scope gate: its distance in numpy and in the exported graph, and its two tests together."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is missing: it comes with the training extra")

from training.ood_images import KINDS, make  # noqa: E402
from training.scope import (  # noqa: E402
    ScopeGate,
    distances,
    fit_gate,
    fit_gaussian,
    level_features,
    measure,
)


def test_distance_is_the_mahalanobis_distance_of_the_shrunk_covariance():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5))
    mean, w = fit_gaussian(f, shrinkage=0.1)
    cov = np.cov(f, rowvar=False)
    cov = 0.9 * cov + 0.1 * np.trace(cov) / 5 * np.eye(5)
    x = rng.normal(size=(7, 5))
    want = np.einsum("ij,jk,ik->i", x - f.mean(0), np.linalg.inv(cov), x - f.mean(0))
    assert distances(x, mean, w) == pytest.approx(want, rel=1e-4)
    gate = ScopeGate(mean, w, 1.0, np.zeros(5, np.float32), 0.0, 0.0)
    graph = gate.tests(torch.from_numpy(x.astype(np.float32)))[0].numpy()
    assert graph == pytest.approx(want, rel=1e-3)


def test_either_test_refuses_and_valid_films_stay_within_budget():
    rng = np.random.default_rng(1)
    inside, valid = rng.normal(size=(2000, 4)), rng.normal(size=(1000, 4))
    # the classifier learns one made-up kind off to one side; the far cluster is caught by the
    # distance alone, the near one (inside the Gaussian's bulk) only by the classifier
    made_up = rng.normal(size=(300, 4)) * 0.2 + [3.6, 0, 0, 0]
    gate = fit_gate(inside, valid, made_up)
    far = rng.normal(size=(50, 4)) + np.array([0, 9, 9, 0])
    near = rng.normal(size=(50, 4)) * 0.2 + [3.6, 0, 0, 0]

    def score(x: np.ndarray) -> np.ndarray:
        return gate(torch.from_numpy(x.astype(np.float32))).numpy()

    r = measure(
        score(valid),
        score(np.concatenate([far, near])),
        ["far"] * 50 + ["near"] * 50,
        ["chest"] * 1000,
    )
    assert r["chest_films_refused"] <= 0.003
    assert r["out_of_scope_refused_per_kind"] == {"far": 1.0, "near": 1.0}
    dist, _ = gate.tests(torch.from_numpy(near.astype(np.float32)))
    missed_by_distance = dist.numpy() < float(gate.get_buffer("consts")[0])
    assert missed_by_distance.mean() > 0.5


def test_level_features_summarise_every_level():
    levels = [torch.ones(2, 3, 8, 8), torch.zeros(2, 5, 4, 4)]
    f = level_features(levels)
    assert f.shape == (2, 2 * 3 + 2 * 5)
    assert torch.allclose(f[:, :3], torch.log1p(torch.ones(2, 3)))
    assert torch.all(f[:, 3:] == 0)


def test_made_up_out_of_scope_images_are_seeded_and_of_every_kind():
    a, kinds = make(2, seed=5)
    b, _ = make(2, seed=5)
    assert a.shape == (2 * len(KINDS), 224, 224) and a.dtype == np.uint8
    assert (a == b).all() and sorted(set(kinds)) == sorted(KINDS)
