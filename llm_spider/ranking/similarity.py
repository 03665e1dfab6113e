"""How alike two tasks are, and what the history says about a task from its most similar ones.

One module that the Spider's priors, the similar-tasks baseline and the evidence re-rank all read,
so the dependency runs one way (ranking and baselines import this; this imports neither).

Two similarities: the sentence encoder's cosine of prompt centroids (what a task's prompts look
like), and a task's *leaderboard profile* (two tasks are alike when public LLMs rank alike on them).
The profile exists because the encoder does not see what a task takes to solve (MMLU's world
religions and philosophy read alike; which models do well on them need not). From the Open LLM
Leaderboard table, after each model's general ability is taken out (column z-scores, minus the
model's mean z-score), the correlation of two task columns says how alike the tasks order models
*beyond* size, which is what ranking a zoo of near-equal models needs. Only public scores of other
models are read: zoo members that are leaderboard models are left out of the profile. A task the
table lacks has no profile, and callers fall back to the encoder alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.zoo.history import History

SIMILARITIES = ("encoder", "mixed")
MIN_MODELS = 20  # public models scored on both tasks, below which a correlation is not trusted


@lru_cache(maxsize=1)
def _board() -> pd.DataFrame:
    return History.from_leaderboard().wide()


@lru_cache(maxsize=8)
def _profile_corr(exclude: tuple[str, ...], min_models: int) -> pd.DataFrame:
    board = _board().drop(index=list(exclude))
    z = (board - board.mean()) / board.std()
    z = z.sub(z.mean(axis=1), axis=0)  # take out each model's general ability
    return z.corr(min_periods=min_models)


class LeaderboardProfile:
    """Task-to-task similarity from the shipped leaderboard table, without ``exclude_models``.

    ``similarity(task, others)``: one value in [-1, 1] per other task, NaN where either task has no
    column in the table. A composite task (e.g. mmlu_subset) is the mean of its parts' rows.
    ``exclude_models``: those of ``exclude_models`` that are in the table (the others need no leaving out).
    """

    def __init__(self, exclude_models: Iterable[str] = (), min_models: int = MIN_MODELS):
        self.exclude_models = tuple(sorted(set(exclude_models) & set(_board().index)))
        self.min_models = min_models
        self.corr_ = _profile_corr(self.exclude_models, min_models)
        self._index = {t: i for i, t in enumerate(self.corr_.index)}
        self._values = self.corr_.to_numpy(dtype=np.float64)

    def _columns(self, task: str) -> list[int]:
        if task in self._index:
            return [self._index[task]]
        from llm_spider.tasks import REGISTRY

        if task in REGISTRY:
            return [self._index[c] for c in REGISTRY.get(task).components if c in self._index]
        return []

    def known(self, task: str) -> bool:
        """Whether ``task`` (or, for a composite, any of its parts) has a column in the table."""
        return bool(self._columns(task))

    def similarity(self, task: str, others: Sequence[str]) -> np.ndarray:
        rows = self._columns(task)
        out = np.full(len(others), np.nan)
        if not rows:
            return out
        for j, other in enumerate(others):
            cols = self._columns(other)
            block = self._values[np.ix_(rows, cols)] if cols else np.empty(0)
            if np.isfinite(block).any():
                out[j] = float(np.nanmean(block))
        return out

    def matrix(self, tasks: Sequence[str]) -> np.ndarray:
        """(len(tasks), len(tasks)) similarities, NaN where unknown."""
        return np.stack([self.similarity(t, tasks) for t in tasks]) if len(tasks) else np.zeros((0, 0))


def mix_similarity(encoder: np.ndarray, profile: np.ndarray | None) -> np.ndarray:
    """The mean of the encoder's cosine and the leaderboard profile's correlation where both are
    known, the cosine alone elsewhere (both lie in [-1, 1])."""
    if profile is None:
        return encoder
    profile = np.broadcast_to(profile, np.shape(encoder))
    return np.where(np.isfinite(profile), (encoder + np.nan_to_num(profile)) / 2, encoder)




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


class NearestTasks:
    """The similar-tasks estimate as a fitted object: each model's weighted mean score over its ``k``
    most similar scored history tasks (weights ``exp(similarity / temperature)``).

    ``similarity``: ``"encoder"`` (cosine of prompt centroids) or ``"mixed"`` (with the leaderboard
    profile, leaving the history's own models out of it).
    """

    def __init__(self, k: int = 10, temperature: float = 0.2, similarity: str = "encoder"):
        if similarity not in SIMILARITIES:
            raise SpiderError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {similarity!r}")
        self.k, self.temperature, self.similarity = k, temperature, similarity

    def fit(self, history: History, tasks: Mapping[str, np.ndarray]) -> NearestTasks:
        usable = [t for t in history.tasks if t in tasks]
        if not usable:
            raise SpiderError("similar-tasks needs token sets for the history's tasks; none of the "
                              f"{len(history.tasks)} history tasks is a known task with prompts")
        self.models_, self.tasks_ = history.models, usable
        self.centroids_ = np.stack([task_centroid(tasks[t]) for t in usable])
        self.scores_ = history.wide()[usable].to_numpy()
        self.profile_ = LeaderboardProfile(history.models) if self.similarity == "mixed" else None
        return self

    def estimate(self, name: str, tokens: np.ndarray | None) -> pd.Series:
        """Each fitted model's estimated score on task ``name`` with prompt tokens ``tokens``."""
        if tokens is None:
            raise SpiderError(f"similar-tasks needs the token set of task '{name}'")
        sims = self.centroids_ @ task_centroid(tokens)
        if self.profile_ is not None:
            sims = mix_similarity(sims, self.profile_.similarity(name, self.tasks_))
        return pd.Series(similar_estimate(self.scores_, sims, self.k, self.temperature), index=self.models_, name=name)
