"""LEEP (Nguyen et al., 2020): log of the expected empirical prediction, via the empirical conditional
p(y|z) of target labels given source classes.
"""

from __future__ import annotations

import numpy as np

from llm_spider.vision.estimators.base import (
    Estimator,
    as_probs,
    labels_index,
    register_estimator,
    soft_joint,
)


def leep(probs, y) -> float:
    """LEEP = 1/n Σ_i log Σ_z P(y_i | z) θ(x_i)_z."""
    y, c = labels_index(y)
    p = as_probs(probs, len(y))
    joint = soft_joint(p, y, c)
    pz = joint.sum(axis=0, keepdims=True)
    cond = np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)  # P(y | z)
    eep = (p @ cond.T)[np.arange(len(y)), y]
    return float(np.mean(np.log(np.clip(eep, 1e-300, None))))


@register_estimator("leep")
class LEEP(Estimator):
    def score(self, task, reference=None) -> float:
        if task.probs.shape[1] < 2:  # no source head
            return float("nan")
        return leep(task.probs, task.labels)
