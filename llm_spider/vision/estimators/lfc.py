"""LFC (Deshpande et al., 2021): correlation of the centred feature kernel with the label kernel.
"""

from __future__ import annotations

import numpy as np

from llm_spider.vision.estimators.base import (
    Estimator,
    as_features,
    labels_index,
    register_estimator,
)


def lfc(features, y) -> float:
    """LFC: Pearson correlation of the centred linear kernel F Fᵀ with the label kernel (+1 same
    class, -1 otherwise), over all pairs."""
    y, c = labels_index(y)
    f = as_features(features, len(y))
    f = f - f.mean(axis=0)
    k = f @ f.T
    lab = np.where(y[:, None] == y[None, :], 1.0, -1.0)
    k, lab = k - k.mean(), lab - lab.mean()
    denom = np.sqrt((k**2).sum() * (lab**2).sum())
    return float((k * lab).sum() / denom) if denom > 0 else 0.0


@register_estimator("lfc")
class LFC(Estimator):
    def score(self, task, reference=None) -> float:
        return lfc(task.features, task.labels)
