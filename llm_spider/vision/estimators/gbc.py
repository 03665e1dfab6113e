"""GBC (Pándy et al., 2022): minus the summed Bhattacharyya coefficients between per-class Gaussians in
PCA space (overlapping classes transfer worse).
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


def gbc(features, y, variance: float = 0.8) -> float:
    """GBC: -Σ_{i≠j} BC(class i, class j), Bhattacharyya coefficients of diagonal Gaussians fitted
    per class in the PCA space of the features (the paper's 'diagonal' variant)."""
    y, c = labels_index(y)
    x = pca(as_features(features, len(y)), variance)
    mus = np.stack([x[y == k].mean(axis=0) for k in range(c)])
    vars_ = np.stack([x[y == k].var(axis=0) + 1e-6 for k in range(c)])
    total = 0.0
    for i in range(c):
        for j in range(c):
            if i == j:
                continue
            v = (vars_[i] + vars_[j]) / 2
            db = (0.125 * ((mus[i] - mus[j]) ** 2 / v).sum()
                  + 0.5 * (np.log(v).sum() - 0.5 * (np.log(vars_[i]).sum() + np.log(vars_[j]).sum())))
            total += np.exp(-db)
    return float(-total)


@register_estimator("gbc")
class GBC(Estimator):
    def score(self, task, reference=None) -> float:
        return gbc(task.features, task.labels)
