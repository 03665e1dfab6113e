"""The prior of adaptive selection: a ranker's estimate of each member's accuracy on the target, and
what that estimate is worth, calibrated on the history alone.

Four estimates (``ESTIMATES``): ``leaderboard``, each member's mean accuracy over the history's
tasks; ``similar-tasks``, its weighted mean over the tasks whose questions read most alike
(ranking/similarity.py); ``spider``, the Spider trained on the history, whose per-task z-scores are
put back on the accuracy scale with the history's mean spread between members; ``items``, the
item-level prior (ranking/items: a ridge regression of per-item outcomes on the questions, which
needs a zoo with per-item outcomes). ``auto`` takes, for
each target, the estimate whose calibration on the history is worth the most items (``choose``):
which estimate to trust is itself decided on the history, never on the target.

The model: a member's accuracy on a new task is its estimate, plus a shift common to every member
(the task is harder or easier than the history's average), plus the member's own residual. Why
split the two: the shift is large (MMLU-Pro: sd 0.11 between categories) but is learnt from the
first items of whichever members are evaluated, whereas the residual (sd 0.05) is what only a
member's own items can correct. A prior that folded the shift into one error would be worth ~15
items instead of ~90, and one that ignored it would compare an evaluated member with unevaluated
ones at the wrong level.

Why method of moments, leave-one-task-out: estimating history tasks from the others gives the
estimate's real errors; their mean per-task offset and the spread around it calibrate the shift's
variance and the residual's, and a Beta prior of strength s around mu has variance
mu(1 - mu) / (s + 1). The Spider is retrained for each task it estimates; to keep that affordable
its calibration uses ``SPIDER_INNER`` seeded history tasks rather than all. The items prior refits
exactly from sums, so it leaves out every history task (the same estimates that chose its penalty).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.zoo.history import History

ESTIMATES = ("leaderboard", "similar-tasks", "spider", "items")
PRIORS = ("auto", *ESTIMATES, "flat")
NEEDS_TOKENS = ("spider", "similar-tasks", "auto")
NEEDS_ITEMS = ("items",)  # per-item outcomes and question vectors (ranking/items): recorded zoos
# A few history tasks can happen to agree (two near-identical tasks), which would make the prior
# worth more than any evaluation could overturn. One pseudo-task is pooled with the history's tasks,
# on which the estimate is worth only PSEUDO_ITEMS items and the shift is unknown (as large as a
# flat prior's error), so a short history gives a weak prior and a long one what its errors say.
PSEUDO_TASKS, PSEUDO_ITEMS = 1.0, 10.0
SPIDER_INNER = 6
OUTLIER_SDS = 3.0


@dataclass(frozen=True)
class Calibration:
    """What a prior is worth: ``strength`` in items around the shifted estimate, and the variance
    of the task's common ``shift`` before any item is seen."""

    strength: float
    shift_var: float
    outlier_share: float = 0.0


def leaderboard_prior(history: History, task: str) -> pd.Series:
    """Each member's mean accuracy over the history's tasks other than ``task``."""
    rest = history.drop_tasks([task]) if task in history.tasks else history
    if not rest.tasks:
        raise SpiderError("no history task besides the target to build a prior from")
    return rest.wide().mean(axis=1)


def _need_items(items):
    """The zoo's per-item data, or the one line saying which zoos have it."""
    if items is None:
        raise SpiderError("the items prior needs per-item outcomes: a recorded zoo (built in or `zoo import-items`)")
    return items


def estimate(prior: str, history: History, task: str, tokens: Mapping[str, np.ndarray] | None = None,
             seed: int = 0, items=None) -> pd.Series:
    """The ``prior``'s accuracy estimate for every member of ``history`` on ``task`` (never read
    from the history, should it hold the task). ``tokens``: task → general tokens, for the priors
    that read the questions; ``items``: the zoo's per-item outcomes (ranking.items.ItemData), for
    the item-level prior."""
    if prior not in ESTIMATES:
        raise UnknownNameError("prior estimate", prior, ESTIMATES)
    rest = history.drop_tasks([task]) if task in history.tasks else history
    if prior == "leaderboard":
        return leaderboard_prior(rest, task)
    if prior == "items":
        from llm_spider.ranking.items import item_estimate

        return item_estimate(_need_items(items), rest, task).reindex(rest.wide().index)
    if tokens is None or task not in tokens:
        raise SpiderError(f"the {prior} prior needs the general tokens of task '{task}'")
    if prior == "similar-tasks":
        from llm_spider.ranking.similarity import NearestTasks

        return NearestTasks().fit(rest, tokens).estimate(task, tokens[task])
    from llm_spider.ranking.base import TaskView
    from llm_spider.ranking.spider import SpiderRanker

    z = SpiderRanker(random_state=seed).fit(rest, tokens).predict(TaskView(task, tokens[task]))
    wide = rest.wide()
    return wide.mean().mean() + wide.std(ddof=0).mean() * z.reindex(wide.index)


def calibrate(history: History, prior: str = "leaderboard", tokens: Mapping[str, np.ndarray] | None = None,
              seed: int = 0, items=None) -> Calibration:
    """Calibrate ``prior``'s residual strength and shift variance on ``history`` (which must not
    hold the target), each history task estimated from the others."""
    wide = history.wide()
    if wide.shape[1] < 2:
        raise SpiderError("calibrating the prior needs at least two history tasks")
    inner = list(wide.columns)
    if prior == "spider" and len(inner) > SPIDER_INNER:
        inner = sorted(np.random.default_rng(seed).choice(inner, SPIDER_INNER, replace=False))
    known = None
    if prior == "items":  # the leave-one-out estimates its penalty was chosen by, every task's
        from llm_spider.ranking.items import loto

        known = loto(_need_items(items), history)[1]
    resid, shifts, var = [], [], []
    for t in inner:
        mu = known[t] if known is not None else estimate(prior, history, t, tokens, seed)
        both = pd.concat([wide[t], mu], axis=1, keys=["truth", "mu"]).dropna()
        err = (both["truth"] - both["mu"]).to_numpy()
        shifts.append(float(err.mean()) ** 2)
        resid.append((err - err.mean()) ** 2)
        var.append((both["mu"].clip(0.01, 0.99) * (1 - both["mu"].clip(0.01, 0.99))).to_numpy())
    spread, k = float(np.mean(np.concatenate(var))), len(resid)
    errors = np.concatenate(resid)
    resid_var = ((k * float(np.mean(errors)) + PSEUDO_TASKS * spread / (1 + PSEUDO_ITEMS)) / (k + PSEUDO_TASKS))
    shift_var = (k * float(np.mean(shifts)) + PSEUDO_TASKS * spread) / (k + PSEUDO_TASKS)
    # members the estimate missed by over OUTLIER_SDS residual sds, one pseudo-outlier added
    outliers = (float(np.sum(errors > OUTLIER_SDS ** 2 * resid_var)) + 1.0) / (len(errors) + 2.0)
    return Calibration(max(spread / max(resid_var, 1e-12) - 1.0, 0.0), shift_var, outliers)


def choose(calibrations: Mapping[str, Calibration]) -> str:
    """Of the calibrated estimates, the one worth the most items on the history: what ``auto`` uses."""
    usable = [p for p in ESTIMATES if p in calibrations]
    if not usable:
        raise SpiderError("no calibrated estimate to choose from")
    return max(usable, key=lambda p: calibrations[p].strength)


# --- the prior of one selection, computed once -----------------------------------------------------
CACHE_VERSION = 3  # part of every key: a change to how priors are estimated never reads an old entry


@dataclass(frozen=True)
class Prior:
    """The prior one `select` starts from: which estimate, its accuracy per member, what it is worth
    (``calibration``), every candidate estimate's calibration (``auto`` chose among them), and
    whether it came from the cache."""

    name: str
    mean: pd.Series | None
    calibration: Calibration
    calibrations: dict[str, Calibration]
    cached: bool = False


def history_key(history: History) -> str:
    """A hash of a history's content (model, task, score): the key of what is computed from it."""
    import hashlib

    scores = history.scores[["model", "task", "score"]].sort_values(["task", "model"])
    return hashlib.sha256(scores.to_csv(index=False, float_format="%.10g").encode()).hexdigest()


def compute_prior(prior: str, others: History, task: str, tokens, key: str | None = None,
                  cache_dir=None, seed: int = 0, on_calibrate=None, items=None) -> Prior:
    """The prior for ``task`` from ``others`` (the history without it): ``auto`` calibrates every
    estimate and takes the one worth the most items. ``tokens()`` gives the general tokens, called
    only when an estimate needs them and nothing is cached. ``key``: what besides ``others`` the
    result depends on (the zoo's questions, which the tokens encode); with it, the result is cached
    under ``cache_dir``, so a second `select` on the same zoo, level, task and history reads it
    instead of refitting Spiders. ``on_calibrate(estimate)`` is called before each calibration.
    ``items()``: the zoo's per-item data (ranking.items.ItemData) or None where it has none; ``auto``
    considers the item-level prior only where there is some."""
    import hashlib
    import json

    from llm_spider.paths import default_cache_dir

    path = None
    if key is not None:
        digest = hashlib.sha256(json.dumps([CACHE_VERSION, prior, task, seed, key, history_key(others),
                                            items is not None])
                                .encode()).hexdigest()
        path = (default_cache_dir() if cache_dir is None else cache_dir) / "priors" / f"{digest[:32]}.json"
        if path.is_file():
            try:
                raw = json.loads(path.read_text())
                cals = {p: Calibration(*c) for p, c in raw["calibrations"].items()}
                return Prior(raw["name"], pd.Series(raw["mean"], dtype=float), cals[raw["name"]], cals, True)
            except (ValueError, KeyError, TypeError):
                pass  # a damaged entry: computed again and rewritten
    toks = tokens() if prior in NEEDS_TOKENS else None
    data = items() if items is not None and prior in (*NEEDS_ITEMS, "auto") else None
    cals: dict[str, Calibration] = {}
    for p in [e for e in ESTIMATES if e not in NEEDS_ITEMS or data is not None] if prior == "auto" else (prior,):
        if on_calibrate:
            on_calibrate(p)
        cals[p] = calibrate(others, p, toks, seed, data)
    name = choose(cals) if prior == "auto" else prior
    out = Prior(name, estimate(name, others, task, toks, seed, data), cals[name], cals)
    if path is not None:
        _store(path, out)
    return out


def _store(path, prior: Prior) -> None:
    import json

    from llm_spider.writing import write_cache

    payload = {"name": prior.name, "mean": {str(k): None if pd.isna(v) else float(v) for k, v in prior.mean.items()},
               "calibrations": {p: [c.strength, c.shift_var, c.outlier_share] for p, c in prior.calibrations.items()}}
    write_cache(path, json.dumps(payload), "prior cache")
