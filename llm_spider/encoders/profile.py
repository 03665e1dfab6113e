"""A task's leaderboard profile: two tasks are alike when public LLMs rank alike on them.

Why beside the sentence encoder: the encoder sees what a task's prompts look like, not what it
takes to solve them (MMLU's world religions and philosophy read alike; which models do well on them
need not). The shipped Open LLM Leaderboard table records how ~190 public LLMs score on 108 tasks.
After each model's general ability is taken out (column z-scores, minus the model's mean z-score),
the correlation of two task columns says how alike the tasks order models *beyond* size, which is
what ranking a zoo of near-equal models needs. Measured on small zoos cut from that table with the
zoo's own members left out of the profile (benchmarks/spider_small_zoos.py), the similar-tasks
estimate with this similarity mixed into the encoder's beats both the encoder-only estimate and
the leaderboard mean, on the live task set and on random task sets. On the multi-source zoo of
sub-billion models near chance it changed nothing measurable (similar-tasks τ 0.334 with it,
0.333 without, benchmarks/live_zoo.py --zoo multisource): public LLMs' profiles need not hold for
models that small.

Only public scores of other models on the tasks are read, never a zoo member's score on a target:
zoo members that are leaderboard models are left out of the profile. A task the table lacks (e.g.
openbookqa, a user's own) has no profile, and callers fall back to the encoder alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

MIN_MODELS = 20  # public models scored on both tasks, below which a correlation is not trusted


@lru_cache(maxsize=1)
def _board() -> pd.DataFrame:
    from llm_spider.zoo.history import History

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
