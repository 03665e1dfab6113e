"""How good a ranking is, measured against the true scores of the same models.

Every function takes ``truth`` and ``pred`` as equally long score vectors over the same models
(higher = better), so that a ranking can be scored without caring about model order.
"""

from __future__ import annotations

import numpy as np

__all__ = ["weighted_tau", "kendall_tau", "top1_regret", "top1_hit", "ndcg_at_k", "evaluate_ranking",
           "paired_bootstrap"]


def _pair(truth, pred) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(truth, dtype=float), np.asarray(pred, dtype=float)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"truth and pred must be 1-D and equally long, got {t.shape} and {p.shape}")
    if len(t) < 2:
        raise ValueError("a ranking needs at least two models")
    if np.isnan(t).any() or np.isnan(p).any():
        raise ValueError("truth and pred must not contain NaN")
    return t, p


def weighted_tau(truth, pred) -> float:
    """Weighted Kendall's τ exactly as Model Spider computes it.

    ``scipy.stats.weightedtau(truth, pred, rank=None)``: pairs are weighted by the *true* rank
    (hyperbolically), so swapping the best models costs more than swapping the worst.
    """
    t, p = _pair(truth, pred)
    from scipy import (
        stats,  # imported here: scipy.stats costs ~1 s, and `rank` never needs it
    )

    return float(stats.weightedtau(t, p, rank=None).statistic)


def kendall_tau(truth, pred) -> float:
    """Plain Kendall's τ-b: every pair of models counts the same."""
    t, p = _pair(truth, pred)
    from scipy import stats

    return float(stats.kendalltau(t, p).statistic)


def top1_regret(truth, pred) -> float:
    """Best true score minus the true score of the model ranked first (0 = picked a best model).

    Ties in ``pred`` are broken pessimistically: the worst-scoring of the tied first models counts.
    """
    t, p = _pair(truth, pred)
    first = np.flatnonzero(p == p.max())
    return float(t.max() - t[first].min())


def top1_hit(truth, pred) -> float:
    """1.0 when the model ranked first is (one of) the truly best, else 0.0."""
    return float(top1_regret(truth, pred) == 0.0)


def ndcg_at_k(truth, pred, k: int = 5) -> float:
    """NDCG@k with the true scores (shifted to be non-negative) as gains."""
    t, p = _pair(truth, pred)
    gains = t - t.min()
    k = min(k, len(t))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(gains[np.argsort(-p, kind="stable")[:k]] @ discounts)
    ideal = float(np.sort(gains)[::-1][:k] @ discounts)
    return dcg / ideal if ideal > 0 else 1.0


def evaluate_ranking(truth, pred, k: int = 5) -> dict[str, float]:
    """All metrics at once, as a record."""
    return {
        "weighted_tau": weighted_tau(truth, pred),
        "kendall_tau": kendall_tau(truth, pred),
        "top1_regret": top1_regret(truth, pred),
        "top1_hit": top1_hit(truth, pred),
        f"ndcg@{k}": ndcg_at_k(truth, pred, k),
    }


def paired_bootstrap(diffs, n_resamples: int = 10_000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-task differences between two methods and its percentile bootstrap interval.

    Why: a benchmark's mean over a couple of dozen tasks moves by a few hundredths with the luck
    of which tasks are in it; resampling the tasks (pairs kept together) says whether one method's
    lead is more than that. Returns (mean, low, high).
    """
    d = np.asarray(diffs, dtype=float)
    if d.ndim != 1 or len(d) < 2 or np.isnan(d).any():
        raise ValueError("paired_bootstrap needs at least two per-task differences, none NaN")
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_resamples, len(d)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(d.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))
