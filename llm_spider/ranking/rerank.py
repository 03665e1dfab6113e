"""Re-ranking by probe evidence: each top-k candidate's accuracy on the probes, weighed against what
the history predicts for it, with the weights fitted on the history's own stored probe runs.

Why not only the Spider net with PTM-specific tokens (the paper's re-rank, kept as
``spider+rerank (tokens)``): with a couple of dozen history tasks the net does not learn to trust
16 probe tokens over the task tokens — measured on both live zoos, it changed no order, and the
tokens moved scores by model family more than by probe correctness. The evidence itself is plain:
a candidate's accuracy on n probe items is an unbiased but noisy estimate of its accuracy on the
task (standard error ~0.12 at n = 16), and the history gives a second estimate (the model's
scores on the most similar history tasks) whose error the history can measure. How much to trust
each is learned where the answer is known: for every history task, the stored per-item results
give each model's accuracy on that task's probes (the same seeded draw a live run uses), the
similar-tasks estimate made without that task gives the prior, and least squares within tasks
(only the order inside a task matters) gives the two weights. Nothing of the target is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from llm_spider.baselines.similar_tasks import SimilarTasksRanker
from llm_spider.errors import SpiderError
from llm_spider.ranking.base import TaskView
from llm_spider.zoo.history import History

FEATURES = ("prior", "probe_accuracy")


def probe_accuracy(logprobs: Sequence[np.ndarray], answers: Sequence[int]) -> float:
    """Share of probes whose gold option has the highest log-probability."""
    return float(np.mean([int(np.argmax(lp)) == int(a) for lp, a in zip(logprobs, answers)]))


def stored_probe_accuracy(items: pd.DataFrame, models: Sequence[str], task: str, probe_index: Sequence[int]
                          ) -> pd.Series:
    """Each model's accuracy on ``task``'s probes from stored per-item results (`evaluate`'s
    items table); models without a stored result for every probe are left out."""
    rows = items[(items["task"] == task) & items["model"].isin(list(models)) & items["item"].isin(list(probe_index))]
    out = {}
    for m, g in rows.groupby("model"):
        g = g.drop_duplicates("item").set_index("item").reindex(list(probe_index))
        if g["logprobs"].notna().all():
            out[m] = probe_accuracy([np.asarray(x) for x in g["logprobs"]], g["answer"].astype(int))
    return pd.Series(out, dtype=float)


class ProbeEvidenceReranker:
    """Scores candidates by ``coef_[0] * prior + coef_[1] * probe accuracy``, fitted on history.

    ``fit(history, tasks, items, probe_index)``: ``tasks`` are the history tasks' general token
    sets (for the similar-tasks prior), ``items`` the stored per-item results, ``probe_index(task)``
    the item indices of a task's probes. ``predict(prior, accuracy)`` scores candidates of a target.
    """

    def __init__(self, k: int = 10, temperature: float = 0.2, min_tasks: int = 3):
        self.k, self.temperature, self.min_tasks = k, temperature, min_tasks

    def _prior_ranker(self, history: History, tasks: Mapping[str, np.ndarray]) -> SimilarTasksRanker:
        return SimilarTasksRanker(self.k, self.temperature).fit(history, tasks)

    def prior(self, history: History, tasks: Mapping[str, np.ndarray], view: TaskView) -> pd.Series:
        """The history's estimate of each model's accuracy on ``view``: similar-tasks' weighted mean."""
        return self._prior_ranker(history, tasks).predict(view)

    def fit(self, history: History, tasks: Mapping[str, np.ndarray], items: pd.DataFrame,
            probe_index: Callable[[str], Sequence[int]]) -> ProbeEvidenceReranker:
        rows = []
        usable = [t for t in history.tasks if t in tasks]
        for t in usable:
            acc = stored_probe_accuracy(items, history.models, t, probe_index(t))
            rest = history.drop_tasks((t,))
            if len(acc) < 2 or not any(u in tasks for u in rest.tasks):
                continue
            prior = self.prior(rest, tasks, TaskView(t, tasks[t]))
            truth = history.wide()[t]
            frame = pd.DataFrame({"prior": prior.reindex(acc.index), "probe_accuracy": acc,
                                  "truth": truth.reindex(acc.index)}).dropna()
            if len(frame) >= 2:
                rows.append(frame - frame.mean())  # within-task: only the order inside a task matters
        if len(rows) < self.min_tasks:
            raise SpiderError(f"re-ranking by probe evidence needs stored per-item results of at least two models on "
                              f"{self.min_tasks} history tasks; found {len(rows)} (run `llm-spider evaluate`)")
        data = pd.concat(rows)
        x, y = data[list(FEATURES)].to_numpy(), data["truth"].to_numpy()
        self.coef_, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ self.coef_
        self.n_tasks_, self.n_rows_ = len(rows), len(data)
        self.r2_ = float(1 - resid @ resid / (y @ y)) if y @ y > 0 else float("nan")
        return self

    @property
    def probe_weight_(self) -> float:
        """The share of the (absolute) weight that goes to probe accuracy: 0 = prior only, 1 = probes only."""
        a, b = np.abs(self.coef_)
        return float(b / (a + b)) if a + b > 0 else float("nan")

    def predict(self, prior: pd.Series, accuracy: pd.Series) -> pd.Series:
        if not hasattr(self, "coef_"):
            raise SpiderError("ProbeEvidenceReranker is not fitted: call fit(...) first")
        idx = accuracy.index
        return self.coef_[0] * prior.reindex(idx) + self.coef_[1] * accuracy
