"""Re-ranking by probe evidence: each top-k candidate's accuracy on the probes, weighed against what
the history predicts for it, with the weights fitted on the history's own stored probe runs.

Why beside the Spider net reading PTM-specific tokens (the paper's re-rank, ``spider+rerank`` in
`compare`; this one is ``spider+evidence``): with a couple of dozen history tasks the net does not
learn to trust 16 probe tokens over the task tokens (docs/results/live.md, multisource.md). The evidence
itself is plain: a candidate's accuracy on n probe items is an unbiased but noisy estimate of its
accuracy on the task (standard error ~0.12 at n = 16), and the history gives a second estimate (the model's
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

from llm_spider.errors import SpiderError
from llm_spider.ranking.base import TaskView
from llm_spider.ranking.probes import stored_probe_rows
from llm_spider.ranking.similarity import NearestTasks
from llm_spider.zoo.history import History
from llm_spider.tasks.scoring import chosen_option

PROBE_STATS = ("probe_accuracy", "gold_prob")
DEFAULT_FEATURES = ("prior", "probe_accuracy")


def probe_accuracy(logprobs: Sequence[np.ndarray], answers: Sequence[int]) -> float:
    """Share of probes whose gold option has the highest log-probability."""
    return float(np.mean([chosen_option(lp) == int(a) for lp, a in zip(logprobs, answers)]))


def probe_stats(logprobs: Sequence[np.ndarray], answers: Sequence[int]) -> dict[str, float]:
    """What a candidate's probe run says about its accuracy: the share it gets right, and the mean
    probability it gives the gold option (less noisy than 0/1 hits, but calibrated per model)."""
    gold = [float(np.exp(lp[int(a)] - np.logaddexp.reduce(lp))) for lp, a in zip(logprobs, answers)]
    return {"probe_accuracy": probe_accuracy(logprobs, answers), "gold_prob": float(np.mean(gold))}


def stored_probe_stats(items: pd.DataFrame, models: Sequence[str], task: str, probe_index: Sequence[int]
                       ) -> pd.DataFrame:
    """``probe_stats`` of each model on ``task``'s probes from stored per-item results (`evaluate`'s
    items table); models without a stored result for every probe are left out."""
    out = {m: probe_stats([np.asarray(x, dtype=np.float64) for x in g["logprobs"]], g["answer"].astype(int))
           for m, g in stored_probe_rows(items, models, task, probe_index).items()}
    return pd.DataFrame.from_dict(out, orient="index", columns=list(PROBE_STATS))


class ProbeEvidenceReranker:
    """Scores candidates by ``coef_ @ [features]`` (the prior and probe statistics), fitted on history.

    The prior is the similar-tasks estimate with ``similarity`` (``"encoder"`` or ``"mixed"``, see
    ranking/similarity.py); the live zoos use the Spider's own, ``"mixed"``.

    ``fit(history, tasks, items, probe_index)``: ``tasks`` are the history tasks' general token
    sets (for the similar-tasks prior), ``items`` the stored per-item results, ``probe_index(task)``
    the item indices of a task's probes. ``predict(prior, stats)`` scores a target's candidates
    from the prior and their ``probe_stats``.
    """

    def __init__(self, features: Sequence[str] = DEFAULT_FEATURES, k: int = 10, temperature: float = 0.2,
                 min_tasks: int = 3, similarity: str = "encoder"):
        unknown = set(features) - {"prior", *PROBE_STATS}
        if unknown or "prior" not in features or len(features) < 2:
            raise SpiderError(f"features must be 'prior' and one or more of {', '.join(PROBE_STATS)}; got {features}")
        self.features, self.k, self.temperature, self.min_tasks = tuple(features), k, temperature, min_tasks
        self.similarity = similarity

    def prior(self, history: History, tasks: Mapping[str, np.ndarray], view: TaskView) -> pd.Series:
        """The history's estimate of each model's accuracy on ``view``: similar-tasks' weighted mean."""
        return NearestTasks(self.k, self.temperature, self.similarity).fit(history, tasks).estimate(view.name, view.tokens)

    def fit(self, history: History, tasks: Mapping[str, np.ndarray], items: pd.DataFrame,
            probe_index: Callable[[str], Sequence[int]]) -> ProbeEvidenceReranker:
        rows = []
        usable = [t for t in history.tasks if t in tasks]
        for t in usable:
            stats = stored_probe_stats(items, history.models, t, probe_index(t))
            rest = history.drop_tasks((t,))
            if len(stats) < 2 or not any(u in tasks for u in rest.tasks):
                continue
            prior = self.prior(rest, tasks, TaskView(t, tasks[t]))
            frame = stats.assign(prior=prior.reindex(stats.index), truth=history.wide()[t].reindex(stats.index))
            frame = frame[[*self.features, "truth"]].dropna()
            if len(frame) >= 2:
                rows.append(frame - frame.mean())  # within-task: only the order inside a task matters
        if len(rows) < self.min_tasks:
            raise SpiderError(f"re-ranking by probe evidence needs stored per-item results of at least two models on "
                              f"{self.min_tasks} history tasks; found {len(rows)} (run `llm-spider evaluate`)")
        data = pd.concat(rows)
        x, y = data[list(self.features)].to_numpy(), data["truth"].to_numpy()
        self.coef_, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ self.coef_
        self.n_tasks_, self.n_rows_ = len(rows), len(data)
        self.r2_ = float(1 - resid @ resid / (y @ y)) if y @ y > 0 else float("nan")
        return self

    @property
    def probe_weight_(self) -> float:
        """The share of the (absolute) weight that goes to probe statistics: 0 = prior only, 1 = probes only."""
        w = np.abs(self.coef_)
        probes = w.sum() - w[self.features.index("prior")]
        return float(probes / w.sum()) if w.sum() > 0 else float("nan")

    def predict(self, prior: pd.Series, stats: pd.DataFrame) -> pd.Series:
        if not hasattr(self, "coef_"):
            raise SpiderError("ProbeEvidenceReranker is not fitted: call fit(...) first")
        x = stats.assign(prior=prior.reindex(stats.index))[list(self.features)].to_numpy(dtype=float)
        return pd.Series(x @ self.coef_, index=stats.index)
