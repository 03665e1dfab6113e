"""The prior of adaptive selection: a ranker's estimate of each member's accuracy on the target, and
what that estimate is worth in items, calibrated on the history alone.

Why method of moments: a Beta prior of strength s around an estimate mu has variance
mu(1 - mu) / (s + 1). Ranking every history task from the others (leave-one-task-out) gives the
estimate's real squared errors; the s whose variance matches their mean is what the estimate is
worth. Raw errors, not errors after each task's shift: a task harder or easier than the estimate
for every member is a real error of the prior, and ignoring it would let a member that was
evaluated be compared with unevaluated ones at the wrong level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.zoo.history import History

PRIORS = ("leaderboard", "flat")
# The errors of a few history tasks can happen to be tiny (two near-identical tasks), which would make
# the prior worth more than any evaluation could overturn. One pseudo-task on which the prior knows
# nothing (its error as large as a flat prior's) is pooled with the history's tasks, so a short
# history gives a weak prior and a long one what its errors say.
PSEUDO_TASKS = 1.0


def leaderboard_prior(history: History, task: str) -> pd.Series:
    """Each member's mean accuracy over the history's tasks other than ``task``."""
    rest = history.drop_tasks([task]) if task in history.tasks else history
    if not rest.tasks:
        raise SpiderError("no history task besides the target to build a prior from")
    return rest.wide().mean(axis=1)


def calibrated_strength(history: History) -> float:
    """The prior strength, in items, that matches the leaderboard prior's leave-one-task-out errors on
    ``history`` (which must not hold the target)."""
    wide = history.wide()
    if wide.shape[1] < 2:
        raise SpiderError("calibrating the prior needs at least two history tasks")
    err, var = [], []
    for t in wide.columns:
        mu = wide.drop(columns=[t]).mean(axis=1)
        both = pd.concat([wide[t], mu], axis=1, keys=["truth", "mu"]).dropna()
        err.append(((both["truth"] - both["mu"]) ** 2).to_numpy())
        var.append((both["mu"] * (1 - both["mu"])).to_numpy())
    mse, spread = float(np.mean(np.concatenate(err))), float(np.mean(np.concatenate(var)))
    k = len(err)
    pooled = (k * mse + PSEUDO_TASKS * spread) / (k + PSEUDO_TASKS)
    return max(spread / max(pooled, 1e-12) - 1.0, 0.0)
