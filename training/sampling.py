"""Which films go into each training batch.

Every batch is filled by quota from three strata, then within a stratum from its groups
(archive x kind, e.g. `pediatric-normal`, `adult-normal-nih`, `qata`):

- lesion outlined (QaTa): 6 of 16. Enough mask gradient every step to keep the segmentation
  (the Dice target) improving, while QaTa is no longer the whole batch.
- normal: 7 of 16, presence 0 with an empty mask.
- abnormal, not outlined (pneumonia, tuberculosis): 3 of 16, presence 1 and no mask loss. Fewer
  because there are only 808 such training films, some with noisy text-mined labels.

Why: presence 0 and 1 are near balance (7 : 9), so the presence logit is not pulled to the prior
and the threshold is chosen on valid, not baked in. Every batch mixes archives, so no batch-level
statistic (BatchNorm included) can tell "QaTa batch" from "other batch". Above all, the archives
of the negatives hold both normal and abnormal films (Kermany pediatric normal/pneumonia, the TB
database normal/TB, NIH No-Finding/pneumonia), so inside those archives only the lungs separate
the labels: the main counter to learning "which archive" (shared/data/README.md).
Within a stratum each group is drawn with probability proportional to sqrt(size): the small
archives (212 NIH normals, 85 NIH pneumonias, 340 pediatric normals) come up more often than their
share, as the targets are per population, without being memorised as a uniform draw would.

A batch depends only on (seed, step), so a resumed run sees exactly the batches it would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.mixed import QATA_GROUP


@dataclass(frozen=True)
class Stratum:
    name: str
    share: float  # of each batch


STRATA = (
    Stratum("outlined", 6 / 16),
    Stratum("normal", 7 / 16),
    Stratum("abnormal_not_outlined", 3 / 16),
)


def stratum_of(group: str, presence: float) -> str:
    if group == QATA_GROUP:
        return "outlined"
    return "abnormal_not_outlined" if presence > 0.5 else "normal"


class BalancedSampler:
    def __init__(
        self,
        groups: Sequence[str],
        presence: Sequence[float],
        batch_size: int,
        seed: int = 0,
        strata: Sequence[Stratum] = STRATA,
    ):
        members: dict[str, dict[str, list[int]]] = {}
        for i, (g, p) in enumerate(zip(groups, presence, strict=True)):
            members.setdefault(stratum_of(g, float(p)), {}).setdefault(g, []).append(i)
        present = [s for s in strata if s.name in members]
        if not present:
            raise ValueError("no films to sample from")
        self.quota = _quotas([s.share for s in present], batch_size)
        self.strata = [s.name for s in present]
        self.groups = [sorted(members[s]) for s in self.strata]
        self.index = [
            [np.asarray(members[s][g]) for g in gs]
            for s, gs in zip(self.strata, self.groups, strict=True)
        ]
        self.weights = []
        for idx in self.index:
            w = np.sqrt([len(i) for i in idx])
            self.weights.append(w / w.sum())
        self.seed = seed

    def batch(self, step: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, step])
        out = []
        for quota, idx, w in zip(self.quota, self.index, self.weights, strict=True):
            for g in rng.choice(len(idx), size=quota, p=w):
                out.append(idx[g][rng.integers(len(idx[g]))])
        return rng.permutation(np.asarray(out, dtype=np.int64))

    def describe(self) -> dict[str, object]:
        return {
            s: {"per_batch": q, "groups": dict(zip(g, np.round(w, 3).tolist(), strict=True))}
            for s, q, g, w in zip(self.strata, self.quota, self.groups, self.weights, strict=True)
        }


def _quotas(shares: list[float], batch_size: int) -> list[int]:
    """Largest-remainder rounding of shares (renormalised) to a batch, at least 1 each."""
    total = sum(shares)
    raw = [s / total * batch_size for s in shares]
    q = [max(1, int(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    i = 0
    while sum(q) < batch_size:
        q[order[i % len(order)]] += 1
        i += 1
    while sum(q) > batch_size:
        j = max(range(len(q)), key=lambda k: q[k])
        q[j] -= 1
    return q
