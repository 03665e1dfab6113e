"""H-Score (Bao et al., 2019): tr(cov(f)⁻¹ cov(E[f|y])), how much of the feature variance the classes
explain.
"""

from __future__ import annotations

import numpy as np

from llm_spider.vision.estimators.base import (
    Estimator,
    as_features,
    labels_index,
    register_estimator,
)


def h_score(features, y, shrinkage: float | str = "ledoit-wolf") -> float:
    """H-Score: tr(inv(cov(f)) @ cov(g)), g(x) = the mean feature of x's class.

    With fewer images than feature dimensions (1280-d features, 150 images) the sample covariance
    is singular and the plain score saturates at C-1 for every model; as Ibrahim et al. (2022)
    propose, cov(f) is shrunk towards a scaled identity by the Ledoit-Wolf amount α and cov(g) by
    (1 - α) (``shrinkage`` may be a fixed α in [0, 1]; 0 is the original H-Score, pseudo-inverse)."""
    y, c = labels_index(y)
    f = as_features(features, len(y))
    f = f - f.mean(axis=0)
    n, d = f.shape
    cov_f = f.T @ f / n
    alpha = ledoit_wolf_shrinkage(f) if shrinkage == "ledoit-wolf" else float(shrinkage)
    if alpha > 0:
        cov_f = (1 - alpha) * cov_f + alpha * np.trace(cov_f) / d * np.eye(d)
    means = np.stack([f[y == k].mean(axis=0) for k in range(c)])
    g = means[y]
    cov_g = (1 - alpha) * (g.T @ g / len(g))  # the between-class part is shrunk alike (Ibrahim et al.)
    return float(np.trace(np.linalg.pinv(cov_f, rcond=1e-10) @ cov_g))


def ledoit_wolf_shrinkage(f: np.ndarray) -> float:
    """The Ledoit-Wolf (2004) optimal weight of the scaled identity for centred samples ``f``."""
    n, d = f.shape
    f2 = f**2
    mu = f2.sum() / n / d
    beta_ = float((f2.T @ f2).sum())
    delta_ = float(((f.T @ f) ** 2).sum()) / n**2
    beta = (beta_ / n - delta_) / (d * n)
    delta = (delta_ - 2 * mu * f2.sum() / n + d * mu**2) / d
    beta = min(beta, delta)
    return 0.0 if beta <= 0 or delta <= 0 else float(beta / delta)


@register_estimator("h-score")
class HScore(Estimator):
    def score(self, task, reference=None) -> float:
        return h_score(task.features, task.labels)
