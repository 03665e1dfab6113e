"""The prior of adaptive selection: a ranker's estimate of each member's accuracy on the target, and
what that estimate is worth, calibrated on the history alone.

The model: a member's accuracy on a new task is its estimate, plus a shift common to every member
(the task is harder or easier than the history's average), plus the member's own residual. Why
split the two: the shift is large (MMLU-Pro: sd 0.11 between categories) but is learnt from the
first items of whichever members are evaluated, whereas the residual (sd 0.05) is what only a
member's own items can correct. A prior that folded the shift into one error would be worth ~15
items instead of ~90, and one that ignored it would compare an evaluated member with unevaluated
ones at the wrong level.

Why method of moments, leave-one-task-out: ranking every history task from the others gives the
estimate's real errors; their mean per-task offset and the spread around it calibrate the shift's
variance and the residual's, and a Beta prior of strength s around mu has variance
mu(1 - mu) / (s + 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.zoo.history import History

PRIORS = ("leaderboard", "flat")
# A few history tasks can happen to agree (two near-identical tasks), which would make the prior
# worth more than any evaluation could overturn. One pseudo-task on which the prior knows nothing
# (its error as large as a flat prior's) is pooled with the history's tasks, so a short history
# gives a weak prior and a long one what its errors say.
PSEUDO_TASKS = 1.0


@dataclass(frozen=True)
class Calibration:
    """What a prior is worth: ``strength`` in items around the shifted estimate, and the variance
    of the task's common ``shift`` before any item is seen."""

    strength: float
    shift_var: float


def leaderboard_prior(history: History, task: str) -> pd.Series:
    """Each member's mean accuracy over the history's tasks other than ``task``."""
    rest = history.drop_tasks([task]) if task in history.tasks else history
    if not rest.tasks:
        raise SpiderError("no history task besides the target to build a prior from")
    return rest.wide().mean(axis=1)


def calibrate(history: History) -> Calibration:
    """Calibrate the leaderboard prior's residual strength and shift variance on ``history`` (which
    must not hold the target), each task estimated from the others."""
    wide = history.wide()
    if wide.shape[1] < 2:
        raise SpiderError("calibrating the prior needs at least two history tasks")
    resid, shifts, var = [], [], []
    for t in wide.columns:
        mu = wide.drop(columns=[t]).mean(axis=1)
        both = pd.concat([wide[t], mu], axis=1, keys=["truth", "mu"]).dropna()
        err = (both["truth"] - both["mu"]).to_numpy()
        shifts.append(float(err.mean()) ** 2)
        resid.append((err - err.mean()) ** 2)
        var.append((both["mu"] * (1 - both["mu"])).to_numpy())
    spread, k = float(np.mean(np.concatenate(var))), len(resid)
    resid_var = (k * float(np.mean(np.concatenate(resid))) + PSEUDO_TASKS * spread) / (k + PSEUDO_TASKS)
    shift_var = (k * float(np.mean(shifts)) + PSEUDO_TASKS * spread) / (k + PSEUDO_TASKS)
    return Calibration(max(spread / max(resid_var, 1e-12) - 1.0, 0.0), shift_var)
