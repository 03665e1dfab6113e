"""OTCE (Tan et al., 2021), as the OT-based NCE its authors recommend: the optimal transport coupling
between source and target samples in feature space (squared Euclidean cost) gives a joint
distribution of source and target labels; the score is -H(Y_target | Y_source). It needs labelled
source samples (or pseudo-labelled reference images) beside the target ones.
"""

from __future__ import annotations

import numpy as np

from llm_spider.errors import SpiderError
from llm_spider.vision.estimators.base import (
    Estimator,
    as_features,
    labels_index,
    logsumexp,
    register_estimator,
)


def ot_coupling(source, target, reg: float = 0.0, iters: int = 500) -> np.ndarray:
    """Optimal coupling of two equally weighted samples under squared Euclidean cost: exact (an
    assignment) when both have n points and ``reg`` is 0, else entropic (log-domain Sinkhorn with
    ``reg`` relative to the mean cost; default 0.05)."""
    from scipy.optimize import linear_sum_assignment

    a, b = np.asarray(source, np.float64), np.asarray(target, np.float64)
    # |a|² + |b|² - 2ab: no (n, m, d) intermediate for wide features
    cost = np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T, 0.0)
    n, m = cost.shape
    if n == m and reg == 0.0:
        rows, cols = linear_sum_assignment(cost)  # uniform marginals, n = m: a permutation is optimal
        plan = np.zeros_like(cost)
        plan[rows, cols] = 1.0 / n
        return plan
    eps = (reg or 0.05) * max(cost.mean(), 1e-12)
    log_a, log_b = np.full(n, -np.log(n)), np.full(m, -np.log(m))
    f, g = np.zeros(n), np.zeros(m)
    for _ in range(iters):
        f = eps * (log_a - logsumexp((g[None, :] - cost) / eps, axis=1))
        g = eps * (log_b - logsumexp((f[:, None] - cost) / eps, axis=0))
    return np.exp((f[:, None] + g[None, :] - cost) / eps)


def otce(source_features, source_labels, target_features, y, reg: float = 0.0) -> float:
    """OT-based NCE: -H(Y_t | Y_s) under the joint label distribution the coupling induces."""
    y, c = labels_index(y)
    ys = np.unique(np.asarray(source_labels), return_inverse=True)[1]
    plan = ot_coupling(source_features, as_features(target_features, len(y)), reg)
    if plan.shape[0] != len(ys):
        raise ValueError("source_features and source_labels must have the same length")
    joint = np.zeros((int(ys.max()) + 1, c))
    np.add.at(joint, (ys[:, None].repeat(len(y), 1), np.broadcast_to(y, plan.shape)), plan)
    ps = joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(joint > 0, joint / ps, 1.0)
    return float((joint * np.log(cond)).sum())


@register_estimator("otce")
class OTCE(Estimator):
    def score(self, task, reference=None) -> float:
        if reference is None:
            raise SpiderError("OTCE needs a labelled reference task")
        y, f = task.labels, task.features
        n = min(len(reference.labels), len(y))  # equal sizes: the exact coupling is an assignment
        rs = np.random.default_rng(0)
        ri, ti = np.sort(rs.permutation(len(reference.labels))[:n]), np.sort(rs.permutation(len(y))[:n])
        return otce(reference.features[ri], reference.labels[ri], f[ti], y[ti])
