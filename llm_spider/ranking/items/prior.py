"""The item-level prior: a new task's member accuracies predicted from its questions alone, by the
item model the history chooses.

Which model (ranking/items/models.py) is chosen on the history only: each of ``inner`` seeded
history tasks is left out in turn, every candidate is fitted on the other history tasks' items and
predicts the left-out task's accuracies, and the candidate whose errors, after the task's common
shift is taken out, are smallest wins. Those leave-one-out errors are also what selection/prior.py
calibrates the prior's strength from, so the choice and the calibration cost one inner loop.
The target's outcomes are never read: only its questions' vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.ranking.items.models import make_item_model

# What the history chooses among. ``nearest`` and ``spider`` are measured beside them
# (benchmarks/item_prior.py) but left out here: on MMLU-Pro's histories their leave-one-task-out
# errors were never the smallest, and each costs a refit per inner task.
CANDIDATES = ("ridge", "irt", "mean:ridge+irt")
INNER = 6  # history tasks left out to choose and calibrate (each a refit of every candidate)


@dataclass
class ItemData:
    """Per-item outcomes of a zoo at one level: ``Y`` items × ``members`` (1/0, NaN: no result),
    ``X`` the items' question vectors, ``tasks`` task → its rows."""

    members: list[str]
    X: np.ndarray
    Y: np.ndarray
    tasks: dict[str, np.ndarray]
    _inner: dict = field(default_factory=dict, repr=False)

    def rows(self, tasks: Sequence[str]) -> np.ndarray:
        missing = [t for t in tasks if t not in self.tasks]
        if missing:
            raise SpiderError(f"no per-item outcomes for task(s) {', '.join(missing[:3])}")
        return np.concatenate([self.tasks[t] for t in tasks]) if tasks else np.zeros(0, int)


def fit_predict(model: str, data: ItemData, train: Sequence[str], target: str, seed: int = 0) -> pd.Series:
    """``model`` fitted on the items of ``train``: its predicted accuracy of every member on ``target``
    (the mean of the member's predicted probabilities over the target's items)."""
    rows = data.rows(train)
    if not len(rows):
        raise SpiderError("no history task to learn the item-level model from")
    m = make_item_model(model, seed).fit(data.X[rows], data.Y[rows])
    return pd.Series(m.predict_proba(data.X[data.tasks[target]]).mean(axis=0), index=data.members)


def inner_tasks(tasks: Sequence[str], seed: int = 0, inner: int = INNER) -> list[str]:
    tasks = sorted(tasks)
    if len(tasks) <= inner:
        return tasks
    return sorted(np.random.default_rng(seed).choice(tasks, inner, replace=False))


def inner_estimates(data: ItemData, history_tasks: Sequence[str], seed: int = 0,
                    candidates: Sequence[str] = CANDIDATES) -> dict[str, dict[str, pd.Series]]:
    """candidate → inner task → its estimate fitted without that task (cached on ``data``)."""
    key = (tuple(sorted(history_tasks)), seed, tuple(candidates))
    if key not in data._inner:
        out: dict[str, dict[str, pd.Series]] = {c: {} for c in candidates}
        for t in inner_tasks(history_tasks, seed):
            rest = [u for u in history_tasks if u != t]
            for c in candidates:  # an ensemble's estimate is its parts' mean: no second fit
                if not c.startswith("mean:"):
                    out[c][t] = fit_predict(c, data, rest, t, seed)
            for c in candidates:
                if c.startswith("mean:"):
                    parts = c[5:].split("+")
                    out[c][t] = sum(out[p][t] if p in out else fit_predict(p, data, rest, t, seed)
                                    for p in parts) / len(parts)
        data._inner[key] = out
    return data._inner[key]


def residual_error(estimates: dict[str, pd.Series], truth: pd.DataFrame) -> float:
    """Mean squared error of the estimates after each task's mean offset (the common shift) is taken
    out: what a prior centred on them is worth beyond the shift that the first items learn."""
    errs = []
    for t, est in estimates.items():
        both = pd.concat([truth[t], est], axis=1, keys=["truth", "mu"]).dropna()
        e = (both["truth"] - both["mu"]).to_numpy()
        errs.append((e - e.mean()) ** 2)
    return float(np.mean(np.concatenate(errs))) if errs else float("inf")


def choose_item_model(data: ItemData, history, seed: int = 0, candidates: Sequence[str] = CANDIDATES) -> str:
    """The candidate with the smallest leave-one-task-out residual error on ``history``'s tasks."""
    tasks = list(history.tasks)
    if len(tasks) < 2:
        return candidates[0]
    est = inner_estimates(data, tasks, seed, candidates)
    wide = history.wide()
    return min(candidates, key=lambda c: residual_error(est[c], wide))


def chosen_inner(data: ItemData, history, seed: int = 0) -> dict[str, pd.Series]:
    """The chosen model's leave-one-task-out estimates of the history's inner tasks: what the
    prior's strength is calibrated from."""
    model = choose_item_model(data, history, seed)
    return inner_estimates(data, list(history.tasks), seed)[model]


def item_estimate(data: ItemData, history, task: str, seed: int = 0) -> pd.Series:
    """The item-level prior's accuracy estimate of every member on ``task``, from ``history`` (its
    tasks, never ``task``), with the model the history chooses."""
    rest = history.drop_tasks([task]) if task in history.tasks else history
    model = choose_item_model(data, rest, seed)
    return fit_predict(model, data, rest.tasks, task, seed).rename(model)
