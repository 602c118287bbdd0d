"""The image-based scope gate: how far a film's encoder features lie from the training films'.

Design (issue 13, "distance of the encoder's features from the training distribution"):
- `features` is the bottleneck of SegFindNet averaged over space (256 numbers per image), the
  summary of what the encoder saw.
- A Gaussian is fitted to the features of training films (QaTa and cxr-negatives, every kind):
  mean mu and a shrunk covariance S = (1 - a) C + a * tr(C)/d * I (a = 0.05, so that directions
  the training films never vary in still give a finite distance).
- The squared Mahalanobis distance (f - mu)^T S^-1 (f - mu) = ||(f - mu) W||^2, with W = S^-1/2
  folded into the ONNX graph as a constant (`scope_distance` output, one matmul, ~65 k MACs).
- Threshold: a high quantile of the distances of real chest films that the fit did not see
  (valid splits), chosen so that at most 0.2% of them are refused (the issue's budget is 0.5%).
The runtime gate is then `scope_distance > manifest.scope.threshold` -> out of scope.
Measured on made-up out-of-scope images (training.ood_images), never tuned on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

SHRINKAGE = 0.05
REFUSE_QUANTILE = 0.998  # of in-scope valid distances: <= 0.2% of real films refused


def fit_gaussian(features: np.ndarray, shrinkage: float = SHRINKAGE,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and whitening W (d, d) with ||(f - mean) @ W||^2 the Mahalanobis distance."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need (n >= 2, d) features, got {f.shape}")
    mean = f.mean(0)
    cov = np.cov(f, rowvar=False)
    d = cov.shape[0]
    cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / d * np.eye(d)
    evals, evecs = np.linalg.eigh(cov)
    whitening = evecs / np.sqrt(np.clip(evals, 1e-12, None))
    return mean.astype(np.float32), whitening.astype(np.float32)


def distances(features: np.ndarray, mean: np.ndarray, whitening: np.ndarray) -> np.ndarray:
    z = (np.asarray(features, np.float64) - mean) @ whitening
    return (z * z).sum(1)


class ScopeDistance(nn.Module):
    """The same distance inside the exported graph."""

    def __init__(self, mean: np.ndarray, whitening: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(np.asarray(mean, np.float32)))
        self.register_buffer("whitening", torch.from_numpy(np.asarray(whitening, np.float32)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        mean, whitening = self.get_buffer("mean"), self.get_buffer("whitening")
        z = (features - mean) @ whitening
        return (z * z).sum(1)


def measure(in_scope: np.ndarray, out_of_scope: np.ndarray, ood_kinds: Sequence[str],
            in_kinds: Sequence[str], quantile: float = REFUSE_QUANTILE) -> dict[str, Any]:
    """Threshold at `quantile` of the in-scope distances; refusal rates on both sides."""
    threshold = float(np.quantile(in_scope, quantile))
    refused_in = in_scope > threshold
    refused_out = out_of_scope > threshold
    kinds_in, kinds_out = np.asarray(in_kinds), np.asarray(ood_kinds)
    return {
        "threshold": round(threshold, 4),
        "threshold_rule": f"quantile {quantile} of valid chest films' distances",
        "chest_films_refused": round(float(refused_in.mean()), 4),
        "chest_films": len(in_scope),
        "chest_refused_per_kind": {k: round(float(refused_in[kinds_in == k].mean()), 4)
                                   for k in sorted(set(in_kinds))},
        "out_of_scope_refused": round(float(refused_out.mean()), 4),
        "out_of_scope_images": len(out_of_scope),
        "out_of_scope_refused_per_kind": {
            k: round(float(refused_out[kinds_out == k].mean()), 4) for k in sorted(set(ood_kinds))},
        "out_of_scope_source": "synthetic (training.ood_images), not photographs",
    }
