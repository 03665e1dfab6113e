"""How well `rank`'s predicted accuracy and its interval hold on tasks outside the history.

For every fold of a protocol, the method and its accuracy map (ranking/accuracy.py) are fitted on
the training tasks only; the held-out task is then predicted as `rank` would predict a new one, and
the models' true accuracies on it are compared with the intervals. The map's own coverage on the
history (held out task by task, but for the Spider by a model that trained on them) is kept beside
it, so the gap between the two is visible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from llm_spider.benchmark.protocols import Protocol
from llm_spider.ranking import TaskView, make_ranker
from llm_spider.ranking.accuracy import centroids_of, fit_accuracy, history_levels, standardised
from llm_spider.zoo.history import History


def accuracy_folds(history: History, protocol: Protocol, method: str, tokens: Mapping[str, np.ndarray],
                   seed: int = 0, on_fold: Callable[[], None] | None = None) -> list[dict]:
    """One record per held-out task: coverage, mean absolute error and width of the predictions."""
    out = []
    fitted_on = ranker = amap = levels = None
    for fold in protocol.folds(history):
        if fitted_on != (fold.train_tasks, fold.models):
            train = history.subset(models=fold.models, tasks=fold.train_tasks)
            ranker = make_ranker(method, random_state=seed)
            own = {t: v for t, v in tokens.items() if t in train.tasks} if ranker.needs_task_tokens else {}
            ranker.fit(train, own or None)
            amap = fit_accuracy(ranker, train, own)
            levels = history_levels(train, own)
            fitted_on = (fold.train_tasks, fold.models)
        target = tokens.get(fold.target)
        pred = ranker.predict(TaskView(fold.target, target)).dropna()
        centroid = centroids_of({fold.target: target})[fold.target] if target is not None and levels.centroids is not None else None
        acc = amap.predict(standardised(pred), *levels.level(centroid))
        truth = history.wide().loc[list(fold.models), fold.target].reindex(acc.index)
        ok = truth.notna()
        a, t = acc[ok], truth[ok]
        out.append({"protocol": protocol.name, "method": method, "seed": seed, "task": fold.target,
                    "models": int(ok.sum()),
                    "coverage": float(((a["accuracy_low"] <= t) & (t <= a["accuracy_high"])).mean()),
                    "mae": float((a["predicted_accuracy"] - t).abs().mean()),
                    "level_error": float(a["predicted_accuracy"].mean() - t.mean()),
                    "width": float((a["accuracy_high"] - a["accuracy_low"]).mean()),
                    "history_coverage": amap.coverage, "history_mae": amap.mae})
        if on_fold:
            on_fold()
    return out


def summarize_accuracy(records: list[dict]) -> pd.DataFrame:
    """Means over held-out tasks per protocol and method (coverage: share of models inside)."""
    df = pd.DataFrame(records)
    return (df.groupby(["protocol", "method"], sort=False)
              .agg(tasks=("task", "nunique"), coverage=("coverage", "mean"), mae=("mae", "mean"),
                   abs_level_error=("level_error", lambda x: x.abs().mean()), width=("width", "mean"),
                   history_coverage=("history_coverage", "mean"), history_mae=("history_mae", "mean"))
              .reset_index())
