"""Rankers: the common interface (base.py), the registry of methods by name, task similarity."""

from llm_spider.ranking.base import Ranker, Ranking, TaskView
from llm_spider.ranking.registry import (
           RANKERS,
           make_ranker,
           method_class,
           method_names,
           register_ranker,
           uses_seed,
)

__all__ = ["RANKERS", "Ranker", "Ranking", "TaskView", "make_ranker", "method_class", "method_names",
           "register_ranker", "uses_seed"]
