"""LogME (You et al., 2021): the maximum log evidence of a Bayesian linear model from features to one-
hot labels, per sample.
"""

from __future__ import annotations

import numpy as np

from llm_spider.vision.estimators.base import (
    Estimator,
    as_features,
    labels_index,
    register_estimator,
)


def logme(features, y, max_iter: int = 100, tol: float = 1e-5) -> float:
    """LogME: per-sample maximum log evidence of Bayesian linear regression from features to each
    one-hot class column (α, β by the fixed-point updates of You et al.), averaged over classes."""
    y, c = labels_index(y)
    f = as_features(features, len(y))
    n, d = f.shape
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    # Directions of numerically zero variance are not features: kept, they let any labelling be
    # fitted exactly when n ≤ d, and β (the noise precision) then diverges.
    keep = s > s.max() * 1e-8
    u, s = u[:, keep], s[keep]
    sigma = s**2
    evidences = []
    for k in range(c):
        t = (y == k).astype(np.float64)
        proj = u.T @ t  # coordinates of t in the features' column space
        rest = max(float(t @ t - proj @ proj), 0.0)
        # Parametrised by α and ρ = α/β: when the features can fit the labels exactly (rank = n),
        # β → ∞ while ρ → 0, and every term below stays finite in this form.
        alpha, rho = 1.0, 1.0
        floor = 1e-12 * float(sigma.mean())
        for _ in range(max_iter):
            gamma = float((sigma / (rho + sigma)).sum())
            m2 = float(((s * proj / (rho + sigma)) ** 2).sum())  # |m|², m the posterior mean
            res2 = float(((rho * proj / (rho + sigma)) ** 2).sum()) + rest
            new_alpha = gamma / max(m2, 1e-300)
            slack = n - gamma
            new_rho = max(new_alpha * res2 / slack, floor) if slack > 1e-12 * n else max(rho * 0.1, floor)
            done = abs(new_alpha - alpha) <= tol * alpha and abs(new_rho - rho) <= tol * rho
            alpha, rho = new_alpha, new_rho
            if done:
                break
        m2 = float(((s * proj / (rho + sigma)) ** 2).sum())
        beta_res2 = alpha * (rho * float(((proj / (rho + sigma)) ** 2).sum()) + rest / rho)  # β·|t - Fm|²
        r = len(sigma)
        evidence = (r / 2 * np.log(alpha) + (n - r) / 2 * (np.log(alpha) - np.log(rho))
                    - 0.5 * np.log(rho + sigma).sum() - n / 2 * np.log(2 * np.pi)
                    - beta_res2 / 2 - alpha / 2 * m2)
        evidences.append(evidence / n)
    return float(np.mean(evidences))


@register_estimator("logme")
class LogME(Estimator):
    def score(self, task, reference=None) -> float:
        return logme(task.features, task.labels)
