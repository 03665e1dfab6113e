"""Performance on similar tasks: rank by each model's scores on the history tasks nearest the target.

Why it works: tasks whose prompts look alike (by the general sentence encoder) tend to need the
same abilities, so the models that did well there tend to do well here. This is the paper's
"performance on similar tasks" baseline (``similarity="encoder"``). With ``similarity="mixed"`` the
encoder's cosine is averaged with the tasks' leaderboard-profile correlation (encoders/profile.py):
the Spider's own prior on small zoos, not the baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llm_spider.encoders.profile import LeaderboardProfile, mix_similarity
from llm_spider.errors import SpiderError
from llm_spider.ranking.base import Ranker, TaskView
from llm_spider.zoo.history import History


SIMILARITIES = ("encoder", "mixed")


def task_centroid(tokens: np.ndarray) -> np.ndarray:
    """The mean prompt embedding, re-normalised: one vector per task for cosine similarity."""
    c = np.asarray(tokens, dtype=np.float64).mean(axis=0)
    return c / (np.linalg.norm(c) or 1.0)


def similar_estimate(scores: np.ndarray, sims: np.ndarray, k: int = 10, temperature: float = 0.2) -> np.ndarray:
    """Each model's ``exp(similarity / temperature)``-weighted mean score over its ``k`` most similar
    scored tasks. ``scores``: models × tasks (NaN = unscored, or hidden from this estimate);
    ``sims``: the target's similarity to each task. NaN for a model scored nowhere."""
    if not np.isfinite(sims).any():  # every task hidden: nothing to read
        return np.full(len(scores), np.nan)
    order = np.argsort(-sims, kind="stable")
    scores, sims = scores[:, order], sims[order]
    have = ~np.isnan(scores)
    take = have & (np.cumsum(have, axis=1) <= k)
    w = np.exp((sims - sims.max()) / temperature) * take
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.nansum(np.where(take, scores, 0.0) * w, axis=1) / total, np.nan)


class SimilarTasksRanker(Ranker):
    """Weighted mean of each model's scores on its ``k`` most similar scored history tasks.

    Weights are ``exp(similarity / temperature)``; a model without a score on the nearest tasks
    falls back to its nearest scored ones, so every model that has any comparable score is ranked.
    ``similarity``: ``"encoder"`` (cosine of prompt centroids) or ``"mixed"`` (with the leaderboard
    profile, leaving the history's own models out of it).
    """

    name = "similar-tasks"
    needs_task_tokens = True

    def __init__(self, k: int = 10, temperature: float = 0.2, similarity: str = "encoder"):
        if similarity not in SIMILARITIES:
            raise SpiderError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {similarity!r}")
        self.k, self.temperature, self.similarity = k, temperature, similarity

    def _fit(self, history: History, tasks: dict[str, np.ndarray]) -> None:
        usable = [t for t in history.tasks if t in tasks]
        if not usable:
            raise SpiderError("similar-tasks needs token sets for the history's tasks; none of the "
                              f"{len(history.tasks)} history tasks is a known task with prompts")
        self.tasks_ = usable
        self.centroids_ = np.stack([task_centroid(tasks[t]) for t in usable])
        self.scores_ = history.wide()[usable].to_numpy()
        self.profile_ = LeaderboardProfile(history.models) if self.similarity == "mixed" else None

    def predict(self, task: TaskView) -> pd.Series:
        if task.tokens is None:
            raise SpiderError(f"similar-tasks needs the token set of task '{task.name}'")
        sims = self.centroids_ @ task_centroid(task.tokens)
        if self.profile_ is not None:
            sims = mix_similarity(sims, self.profile_.similarity(task.name, self.tasks_))
        pred = similar_estimate(self.scores_, sims, self.k, self.temperature)
        return pd.Series(pred, index=self.models_, name=task.name)
