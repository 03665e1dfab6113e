"""N-LEEP (Li et al., 2021): LEEP with the source head replaced by a Gaussian mixture fitted to PCA-
reduced features.
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
from llm_spider.vision.estimators.leep import leep


def gmm_posteriors(x: np.ndarray, k: int, seed: int = 0, iters: int = 100) -> np.ndarray:
    """Posteriors of a diagonal-covariance Gaussian mixture fitted by EM (k-means++ start)."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    centres = [x[rng.integers(n)]]
    for _ in range(1, k):
        dist = np.min(((x[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(x[rng.choice(n, p=dist / dist.sum()) if dist.sum() > 0 else rng.integers(n)])
    mu = np.array(centres)
    var = np.tile(x.var(axis=0) + 1e-6, (k, 1))
    weights = np.full(k, 1.0 / k)
    prev = -np.inf
    for _ in range(iters):
        log_p = (np.log(weights)[None] - 0.5 * (np.log(2 * np.pi * var).sum(-1))[None]
                 - 0.5 * (((x[:, None, :] - mu[None]) ** 2) / var[None]).sum(-1))
        m = log_p.max(axis=1, keepdims=True)
        ll = m[:, 0] + np.log(np.exp(log_p - m).sum(axis=1))
        post = np.exp(log_p - ll[:, None])
        nk = post.sum(axis=0) + 1e-10
        weights = nk / n
        mu = post.T @ x / nk[:, None]
        var = post.T @ (x**2) / nk[:, None] - mu**2 + 1e-6
        if ll.sum() - prev < 1e-6 * abs(prev if np.isfinite(prev) else 1.0):
            break
        prev = ll.sum()
    return post


def n_leep(features, y, components: int | None = None, seed: int = 0) -> float:
    """N-LEEP: LEEP over the posteriors of a GMM fitted on PCA(80 % variance) of the features;
    ``components`` defaults to the number of target classes."""
    y_idx, c = labels_index(y)
    x = pca(as_features(features, len(y_idx)))
    post = gmm_posteriors(x, components or c, seed)
    return leep(post / post.sum(axis=1, keepdims=True), y_idx)


@register_estimator("n-leep")
class NLEEP(Estimator):
    def score(self, task, reference=None) -> float:
        return n_leep(task.features, task.labels)
