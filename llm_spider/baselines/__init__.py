"""Baseline rankers the Spider must beat: random, leaderboard average, performance on similar tasks."""

from llm_spider.baselines.leaderboard import LeaderboardRanker
from llm_spider.baselines.random import RandomRanker
from llm_spider.baselines.similar_tasks import SimilarTasksRanker

__all__ = ["RandomRanker", "LeaderboardRanker", "SimilarTasksRanker"]
