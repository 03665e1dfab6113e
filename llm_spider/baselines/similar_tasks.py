"""Performance on similar tasks: rank by each model's scores on the history tasks nearest the target.

Why it works: tasks whose prompts look alike (by the general sentence encoder) tend to need the
same abilities, so the models that did well there tend to do well here. This is the paper's
"performance on similar tasks" baseline (``similarity="encoder"``). With ``similarity="mixed"`` the
encoder's cosine is averaged with the tasks' leaderboard-profile correlation
(ranking/similarity.py): the Spider's own prior on small zoos, not the baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llm_spider.ranking.base import Ranker, TaskView
from llm_spider.ranking.registry import register_ranker
from llm_spider.ranking.similarity import NearestTasks
from llm_spider.zoo.history import History


@register_ranker("similar-tasks")
class SimilarTasksRanker(Ranker):
    """Weighted mean of each model's scores on its ``k`` most similar scored history tasks.

    Weights are ``exp(similarity / temperature)``; a model without a score on the nearest tasks
    falls back to its nearest scored ones, so every model that has any comparable score is ranked.
    ``similarity``: ``"encoder"`` (cosine of prompt centroids) or ``"mixed"`` (with the leaderboard
    profile, leaving the history's own models out of it).
    """

    needs_task_tokens = True
    compare_order = 1

    def __init__(self, k: int = 10, temperature: float = 0.2, similarity: str = "encoder"):
        NearestTasks(k, temperature, similarity)  # validates the parameters
        self.k, self.temperature, self.similarity = k, temperature, similarity

    def _fit(self, history: History, tasks: dict[str, np.ndarray]) -> None:
        self.nearest_ = NearestTasks(self.k, self.temperature, self.similarity).fit(history, tasks)

    def predict(self, task: TaskView) -> pd.Series:
        return self.nearest_.estimate(task.name, task.tokens)
