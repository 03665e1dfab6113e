"""PACTran-Gaussian (Ding et al., 2022): minus the optimal PAC-Bayesian bound of a linear softmax head
with a Gaussian prior; the Gaussian posterior's variances have a closed form from the diagonal of
the empirical loss's Hessian, leaving loss(w*) + |w*|²/(2σ²λ) + Σ log(1+λσ²h)/(2λ).
"""

from __future__ import annotations

import numpy as np

from llm_spider.vision.estimators.base import (
    Estimator,
    as_features,
    labels_index,
    pca,
    register_estimator,
)


def pactran(features, y, lda_factor: float = 1.0, sigma2: float = 1.0, max_dim: int = 64) -> float:
    """PACTran-Gaussian on standardised, PCA-reduced (≤ ``max_dim``) features; λ = lda_factor · n.

    w* minimises the mean cross-entropy plus |w|²/(2σ²λ) (L-BFGS); with the posterior
    N(w*, s²), s² = σ²/(1 + λσ²h) optimal for the second-order bound, the bound is
    CE(w*) + |w*|²/(2σ²λ) + Σ log(1 + λσ²h)/(2λ), h the Hessian's diagonal at w*."""
    from scipy.optimize import minimize

    y, c = labels_index(y)
    f = as_features(features, len(y))
    x = pca(f, 1.0)[:, :max_dim]
    x = x / (x.std(axis=0) + 1e-12)
    x = np.hstack([x, np.ones((len(x), 1))])  # bias
    n, d = x.shape
    lam = lda_factor * n
    onehot = np.eye(c)[y]

    def objective(flat):
        w = flat.reshape(d, c)
        logits = x @ w
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        loss = -(onehot * logp).sum() / n + (w**2).sum() / (2 * sigma2 * lam)
        grad = x.T @ (p - onehot) / n + w / (sigma2 * lam)
        return loss, grad.ravel()

    w = minimize(objective, np.zeros(d * c), jac=True, method="L-BFGS-B").x.reshape(d, c)
    logits = x @ w
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    ce = -(onehot * logp).sum() / n
    h = (x**2).T @ (p * (1 - p)) / n  # (d, c): diagonal of the mean cross-entropy's Hessian
    bound = ce + (w**2).sum() / (2 * sigma2 * lam) + np.log1p(lam * sigma2 * h).sum() / (2 * lam)
    return float(-bound)


@register_estimator("pactran")
class PACTran(Estimator):
    def score(self, task, reference=None) -> float:
        return pactran(task.features, task.labels)
