"""The item-level prior: a new task's member accuracies predicted from its questions alone, by a
ridge regression of each member's per-item outcomes on the question vectors.

Why ridge, and why only ridge: measured one by one as priors (benchmarks/item_prior.py), the
factorisation (``irt``), nearest items and the Spider's own network at the item level were no better
than ridge in weighted tau at either level, and each costs a refit per left-out task. Ridge refits
exactly from sums (ranking/items/ridge.py), so its penalty is chosen, and the prior's strength
calibrated, by leaving out every history task in turn rather than a sample of them. The target's
outcomes are never read: only its questions' vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.ranking.items.models import RidgeItems, make_item_model
from llm_spider.ranking.items.ridge import RidgeStats, predict, total

ALPHAS = (1.0, 10.0, 100.0, 1000.0)  # ridge penalties the history chooses among
NO_HISTORY = "no history task to learn the item-level model from"


@dataclass
class ItemData:
    """Per-item outcomes of a zoo at one level: ``Y`` items × ``members`` (1/0, NaN: no result),
    ``X`` the items' question vectors, ``tasks`` task → its rows."""

    members: list[str]
    X: np.ndarray
    Y: np.ndarray
    tasks: dict[str, np.ndarray]
    _stats: dict = field(default_factory=dict, repr=False)  # task → its RidgeStats
    _folds: dict = field(default_factory=dict, repr=False)  # history tasks → (alpha, estimates)

    def rows(self, tasks: Sequence[str]) -> np.ndarray:
        missing = [t for t in tasks if t not in self.tasks]
        if missing:
            raise SpiderError(f"no per-item outcomes for task(s) {', '.join(missing[:3])}")
        return np.concatenate([self.tasks[t] for t in tasks]) if tasks else np.zeros(0, int)

    def stats(self, tasks: Sequence[str]) -> RidgeStats:
        """The ridge sums over ``tasks``' items (each task's computed once)."""
        if not len(self.rows(tasks)):
            raise SpiderError(NO_HISTORY)
        for t in tasks:
            if t not in self._stats:
                self._stats[t] = RidgeStats.of(self.X[self.tasks[t]], self.Y[self.tasks[t]])
        return total(self._stats[t] for t in tasks)

    def accuracy(self, task: str, fit: tuple[np.ndarray, np.ndarray]) -> pd.Series:
        """Each member's mean predicted probability over ``task``'s items."""
        return pd.Series(predict(self.X[self.tasks[task]], *fit).mean(axis=0), index=self.members)


def fit_predict(model: str, data: ItemData, train: Sequence[str], target: str, seed: int = 0) -> pd.Series:
    """``model`` fitted on the items of ``train``: its predicted accuracy of every member on ``target``
    (the mean of the member's predicted probabilities over the target's items)."""
    rows = data.rows(train)
    if not len(rows):
        raise SpiderError(NO_HISTORY)
    m = make_item_model(model, seed).fit(data.X[rows], data.Y[rows])
    return pd.Series(m.predict_proba(data.X[data.tasks[target]]).mean(axis=0), index=data.members)


def residual_error(estimates: dict[str, pd.Series], truth: pd.DataFrame) -> float:
    """Mean squared error of the estimates after each task's mean offset (the common shift) is taken
    out: what a prior centred on them is worth beyond the shift that the first items learn."""
    errs = []
    for t, est in estimates.items():
        both = pd.concat([truth[t], est], axis=1, keys=["truth", "mu"]).dropna()
        e = (both["truth"] - both["mu"]).to_numpy()
        errs.append((e - e.mean()) ** 2)
    return float(np.mean(np.concatenate(errs))) if errs else float("inf")


def loto(data: ItemData, history) -> tuple[float, dict[str, pd.Series]]:
    """The penalty the history chooses and, at it, each history task's estimate fitted on the other
    history tasks (cached on ``data`` by the history's tasks)."""
    tasks = sorted(history.tasks)
    key = tuple(tasks)
    if len(tasks) < 2:  # nothing to leave out: ridge's default penalty, as before the choice existed
        return RidgeItems().alpha, {}
    if key not in data._folds:
        everything = data.stats(tasks)
        est: dict[float, dict[str, pd.Series]] = {a: {} for a in ALPHAS}
        for t in tasks:
            for alpha, fit in zip(ALPHAS, (everything - data.stats([t])).solve(ALPHAS)):
                est[alpha][t] = data.accuracy(t, fit)
        wide = history.wide()
        alpha = min(ALPHAS, key=lambda a: residual_error(est[a], wide))
        data._folds[key] = (alpha, est[alpha])
    return data._folds[key]


def item_estimate(data: ItemData, history, task: str) -> pd.Series:
    """The item-level prior's accuracy estimate of every member on ``task``, from ``history`` (its
    tasks, never ``task``), at the penalty the history chooses."""
    rest = history.drop_tasks([task]) if task in history.tasks else history
    alpha, _ = loto(data, rest)
    return data.accuracy(task, data.stats(list(rest.tasks)).solve([alpha])[0]).rename(f"ridge(alpha={alpha:g})")
