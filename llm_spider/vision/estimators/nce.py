"""NCE (Tran et al., 2019): negative conditional entropy of target labels given the source model's hard
predictions.
"""

from __future__ import annotations

import numpy as np

from llm_spider.vision.estimators.base import (
    Estimator,
    as_probs,
    labels_index,
    register_estimator,
)


def nce(probs, y) -> float:
    """NCE = -H(Y | Z), Z the source model's argmax class."""
    y, c = labels_index(y)
    z = as_probs(probs, len(y)).argmax(axis=1)
    joint = np.zeros((c, int(z.max()) + 1))
    np.add.at(joint, (y, z), 1.0)
    joint /= len(y)
    pz = joint.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(joint > 0, joint / pz, 1.0)
    return float((joint * np.log(cond)).sum())


@register_estimator("nce")
class NCE(Estimator):
    def score(self, task, reference=None) -> float:
        if task.probs.shape[1] < 2:  # no source head
            return float("nan")
        return nce(task.probs, task.labels)
