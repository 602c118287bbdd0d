"""The zone-label ceiling: a classifier from masks to zone flags, scored per zone."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="torch is missing: it comes with the training extra")

from training.data import Arrays
from training.zone_ceiling import fit, middle_only_row, pooled, score


def _band_masks(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random blobs in six bands (3 rows x 2 halves); zone k is set iff its band holds lesion."""
    rng = np.random.default_rng(seed)
    zones = rng.random((n, 6)) < 0.5
    masks = np.zeros((n, 224, 224), np.uint8)
    for i, j in zip(*np.nonzero(zones), strict=True):
        top, left = 16 + 64 * (j % 3), 16 + 112 * (j // 3)
        y, x = top + rng.integers(0, 24), left + rng.integers(0, 60)
        masks[i, y : y + 16, x : x + 16] = 1
    return masks, zones.astype(np.float32)


def test_zones_that_are_a_function_of_the_mask_are_learned_almost_perfectly():
    masks, zones = _band_masks(600, seed=0)
    net = fit(pooled(masks), zones, epochs=30)
    held_masks, held_zones = _band_masks(200, seed=1)
    result = score(net, pooled(held_masks), held_zones)
    assert result["images"] == 200
    assert result["zone_macro_f1"] > 0.95
    assert len(result["f1_per_zone"]) == 6


def test_score_counts_false_positives_and_negatives_per_zone():
    class Fixed:
        def __call__(self, x):
            import torch

            return torch.tensor([[1.0, -1, -1, -1, -1, -1]] * len(x))

    true = np.array([[0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]], np.float32)
    result = score(Fixed(), np.zeros((2, 4), np.float32), true)
    assert result["false_positive_rate_per_zone"][0] == 0.5
    assert result["false_negative_rate_per_zone"][1] == 0.5
    assert result["f1_per_zone"][0] == pytest.approx(2 / 3, abs=1e-3)


def test_middle_only_row_is_the_mean_lesion_row_of_left_middle_only_cases():
    masks = np.zeros((3, 224, 224), np.uint8)
    masks[0, 100:112, 10:20] = 1  # rows 100..111: centre 106 / 224
    masks[1, 120:122, 10:20] = 1  # labelled left-lower too: ignored
    masks[2, 50:52, 150:160] = 1  # right side only: ignored
    zones = np.array([[0, 1, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0], [0, 1, 0, 0, 0, 0]], np.float32)
    a = Arrays(images=masks, masks=masks, zones=zones, descriptions=[""] * 3, names=["a"] * 3)
    assert middle_only_row(a) == pytest.approx(106 / 224, abs=1e-4)
