"""Leaderboard average: pick the model that is best on average over the history's tasks.

Why it is strong: LLM abilities are highly correlated across tasks, so a model's mean score is a
good prior for any new task. Its blind spot is that it gives every task the same ranking.
"""

from __future__ import annotations

import pandas as pd

from llm_spider.ranking.base import Ranker, TaskView
from llm_spider.ranking.registry import register_ranker
from llm_spider.zoo.history import History


@register_ranker("leaderboard")
class LeaderboardRanker(Ranker):
    """Each model's mean score over the tasks it was scored on."""

    compare_order = 0

    def _fit(self, history: History, tasks) -> None:
        self.mean_scores_ = history.wide().mean(axis=1)

    def predict(self, task: TaskView) -> pd.Series:
        return self.mean_scores_.rename(task.name)
