"""The scope gate's distance, in numpy and inside the exported graph."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is missing: it comes with the training extra")

from training.ood_images import KINDS, make  # noqa: E402
from training.scope import ScopeDistance, distances, fit_gaussian, measure  # noqa: E402


def test_distance_is_the_mahalanobis_distance_of_the_shrunk_covariance():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5))
    mean, w = fit_gaussian(f, shrinkage=0.1)
    cov = np.cov(f, rowvar=False)
    cov = 0.9 * cov + 0.1 * np.trace(cov) / 5 * np.eye(5)
    x = rng.normal(size=(7, 5))
    want = np.einsum("ij,jk,ik->i", x - f.mean(0), np.linalg.inv(cov), x - f.mean(0))
    assert distances(x, mean, w) == pytest.approx(want, rel=1e-4)
    graph = ScopeDistance(mean, w)(torch.from_numpy(x.astype(np.float32))).numpy()
    assert graph == pytest.approx(want, rel=1e-3)


def test_far_images_are_refused_and_the_threshold_keeps_in_scope_films():
    rng = np.random.default_rng(1)
    inside = rng.normal(size=(1000, 4))
    mean, w = fit_gaussian(inside)
    far = rng.normal(size=(50, 4)) + 8
    r = measure(distances(inside, mean, w), distances(far, mean, w), ["far"] * 50,
                ["chest"] * 1000, quantile=0.995)
    assert r["chest_films_refused"] <= 0.005 and r["out_of_scope_refused"] == 1.0


def test_made_up_out_of_scope_images_are_seeded_and_of_every_kind():
    a, kinds = make(2, seed=5)
    b, _ = make(2, seed=5)
    assert a.shape == (2 * len(KINDS), 224, 224) and a.dtype == np.uint8
    assert (a == b).all() and sorted(set(kinds)) == sorted(KINDS)
