"""Validation metrics, numpy only so `medsegtext evaluate` runs without torch.

Dice and IoU are reported both accumulated over the split (2*sum(TP) / (sum(pred) + sum(gt)), as
the published QaTa-COV19 tables do) and as the mean over images.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class MetricAccumulator:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    dice_per_image: list[float] = field(default_factory=list)
    iou_per_image: list[float] = field(default_factory=list)
    zone_pred: list[np.ndarray] = field(default_factory=list)
    zone_true: list[np.ndarray] = field(default_factory=list)
    sentences_pred: list[str] = field(default_factory=list)
    sentences_true: list[str] = field(default_factory=list)

    def add_masks(self, pred: np.ndarray, true: np.ndarray) -> None:
        """pred and true are boolean masks of one or more images: (H, W) or (N, H, W)."""
        pred, true = pred.astype(bool), true.astype(bool)
        if pred.shape != true.shape:
            raise ValueError(f"mask shapes differ: {pred.shape} vs {true.shape}")
        if pred.ndim == 2:
            pred, true = pred[None], true[None]
        for p, t in zip(pred, true, strict=True):
            tp = int(np.count_nonzero(p & t))
            fp = int(np.count_nonzero(p & ~t))
            fn = int(np.count_nonzero(~p & t))
            self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn
            self.dice_per_image.append(_ratio(2 * tp, 2 * tp + fp + fn))
            self.iou_per_image.append(_ratio(tp, tp + fp + fn))

    def add_findings(
        self,
        zones_pred: Sequence[bool],
        zones_true: Sequence[bool],
        sentence_pred: str,
        sentence_true: str,
    ) -> None:
        self.zone_pred.append(np.asarray(zones_pred, dtype=bool))
        self.zone_true.append(np.asarray(zones_true, dtype=bool))
        self.sentences_pred.append(sentence_pred)
        self.sentences_true.append(sentence_true)

    def result(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.dice_per_image:
            out.update(
                dice_accumulated=_ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn),
                iou_accumulated=_ratio(self.tp, self.tp + self.fp + self.fn),
                dice_mean=float(np.mean(self.dice_per_image)),
                iou_mean=float(np.mean(self.iou_per_image)),
                images=len(self.dice_per_image),
            )
        if self.zone_pred:
            zp, zt = np.stack(self.zone_pred), np.stack(self.zone_true)
            out.update(
                zone_macro_f1=zone_macro_f1(zp, zt),
                laterality_accuracy=float(
                    np.mean([laterality(p) == laterality(t) for p, t in zip(zp, zt, strict=True)])
                ),
                exact_sentence_match=float(
                    np.mean(
                        [
                            _norm(p) == _norm(t)
                            for p, t in zip(self.sentences_pred, self.sentences_true, strict=True)
                        ]
                    )
                ),
                bleu4=bleu4(self.sentences_pred, self.sentences_true),
                rouge_l=rouge_l(self.sentences_pred, self.sentences_true),
            )
        return out


def _ratio(num: float, den: float) -> float:
    """Both empty counts as perfect agreement."""
    return 1.0 if den == 0 else num / den


def laterality(zones: np.ndarray) -> int:
    """0 none, 1 unilateral, 2 bilateral (the CSV's coding for 1 and 2)."""
    return int(zones[:3].any()) + int(zones[3:].any())


def zone_macro_f1(pred: np.ndarray, true: np.ndarray) -> float:
    f1s = []
    for z in range(true.shape[1]):
        p, t = pred[:, z], true[:, z]
        tp = int(np.count_nonzero(p & t))
        errors = int(np.count_nonzero(p & ~t) + np.count_nonzero(~p & t))
        f1s.append(_ratio(2 * tp, 2 * tp + errors))
    return float(np.mean(f1s))


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _tokens(s: str) -> list[str]:
    return _norm(s).replace(",", " ,").replace(".", " .").split()


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu4(candidates: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU-4 (Papineni et al. 2002): uniform weights, one reference, brevity penalty."""
    matches, totals = [0] * 4, [0] * 4
    cand_len = ref_len = 0
    for c, r in zip(candidates, references, strict=True):
        ct, rt = _tokens(c), _tokens(r)
        cand_len, ref_len = cand_len + len(ct), ref_len + len(rt)
        for n in range(1, 5):
            cn, rn = _ngrams(ct, n), _ngrams(rt, n)
            matches[n - 1] += sum(min(v, rn[g]) for g, v in cn.items())
            totals[n - 1] += max(len(ct) - n + 1, 0)
    if cand_len == 0 or min(matches) == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / 4
    bp = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / cand_len)
    return bp * math.exp(log_p)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(candidates: Sequence[str], references: Sequence[str]) -> float:
    """Mean sentence-level ROUGE-L F1 (longest common subsequence of tokens)."""
    scores = []
    for c, r in zip(candidates, references, strict=True):
        ct, rt = _tokens(c), _tokens(r)
        lcs = _lcs(ct, rt)
        if lcs == 0:
            scores.append(0.0)
            continue
        prec, rec = lcs / len(ct), lcs / len(rt)
        scores.append(2 * prec * rec / (prec + rec))
    return float(np.mean(scores)) if scores else 0.0
