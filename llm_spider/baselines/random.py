"""Random ranking: the floor every method must clear (expected weighted τ ≈ 0)."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from llm_spider.ranking.base import Ranker, TaskView
from llm_spider.ranking.registry import register_ranker


@register_ranker("random")
class RandomRanker(Ranker):
    """Scores drawn uniformly; the task name is mixed into the seed so folds differ but repeat."""

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def predict(self, task: TaskView) -> pd.Series:
        rng = np.random.default_rng([self.random_state, zlib.crc32(task.name.encode())])
        return pd.Series(rng.random(len(self.models_)), index=self.models_, name=task.name)
