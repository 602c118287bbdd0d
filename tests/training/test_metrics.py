import math

import numpy as np
import pytest

from training.metrics import MetricAccumulator, bleu4, rouge_l, zone_macro_f1


def test_dice_accumulated_differs_from_mean_as_hand_computed():
    acc = MetricAccumulator()
    # image 1: pred 4 px, true 4 px, overlap 2 -> dice 0.5, iou 2/6
    p1 = np.zeros((4, 4), bool)
    p1[0, :4] = True
    t1 = np.zeros((4, 4), bool)
    t1[0, 2:] = True
    t1[1, :2] = True
    # image 2: pred 1 px, true 1 px, same pixel -> dice 1, iou 1
    p2 = np.zeros((4, 4), bool)
    p2[3, 3] = True
    acc.add_masks(np.stack([p1, p2]), np.stack([t1, p2.copy()]))
    r = acc.result()
    assert r["dice_mean"] == pytest.approx(0.75)
    assert r["iou_mean"] == pytest.approx((2 / 6 + 1) / 2)
    # accumulated: TP 3, FP 2, FN 2 -> 6 / 10 and 3 / 7
    assert r["dice_accumulated"] == pytest.approx(0.6)
    assert r["iou_accumulated"] == pytest.approx(3 / 7)


def test_empty_prediction_of_empty_truth_is_perfect():
    acc = MetricAccumulator()
    z = np.zeros((3, 3), bool)
    acc.add_masks(z, z)
    assert acc.result()["dice_mean"] == 1.0


def test_zone_macro_f1_hand_computed():
    true = np.array([[1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]], bool)
    pred = np.array([[1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]], bool)
    # zone 0: tp1 fn1 -> 2/3; zone 1: tp1 fp1 -> 2/3; zones 2-5 empty -> 1
    assert zone_macro_f1(pred, true) == pytest.approx((2 / 3 * 2 + 4) / 6)


def test_bleu4_identical_is_one_and_hand_computed_case():
    s = "bilateral pulmonary infection, two infected areas, lower left lung and lower right lung."
    assert bleu4([s], [s]) == pytest.approx(1.0)
    cand, ref = "a b c d e", "a b c d f"
    # precisions 4/5, 3/4, 2/3, 1/2; equal length -> no brevity penalty
    expected = math.exp((math.log(4 / 5) + math.log(3 / 4) + math.log(2 / 3) + math.log(1 / 2)) / 4)
    assert bleu4([cand], [ref]) == pytest.approx(expected)
    # a shorter candidate is penalised: c=4, r=5 -> exp(1 - 5/4)
    short = bleu4(["a b c d"], [ref])
    assert short == pytest.approx(math.exp(1 - 5 / 4))


def test_rouge_l_hand_computed():
    # LCS("a b c d", "a c d e") = 3 -> P = R = 3/4 -> F = 0.75
    assert rouge_l(["a b c d"], ["a c d e"]) == pytest.approx(0.75)
    assert rouge_l(["x"], ["y"]) == 0.0


def test_findings_metrics_exact_match_and_laterality():
    acc = MetricAccumulator()
    acc.add_findings([1, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 1], "a.", "b.")
    acc.add_findings([1, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 1], "same.", "same.")
    r = acc.result()
    assert r["laterality_accuracy"] == 0.5
    assert r["exact_sentence_match"] == 0.5
