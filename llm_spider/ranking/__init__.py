"""Rankers: the common interface and the registry of methods by name."""

from __future__ import annotations

import inspect

from llm_spider.errors import UnknownNameError
from llm_spider.ranking.base import Ranker, Ranking, TaskView


def _methods() -> dict[str, type[Ranker]]:
    from llm_spider.baselines import LeaderboardRanker, RandomRanker, SimilarTasksRanker
    from llm_spider.ranking.spider import SpiderRanker

    return {cls.name: cls for cls in (SpiderRanker, SimilarTasksRanker, LeaderboardRanker, RandomRanker)}


def method_names() -> list[str]:
    return list(_methods())


def method_class(name: str) -> type[Ranker]:
    """The ranker class of a method name; raises with the closest names on a typo."""
    methods = _methods()
    if name not in methods:
        raise UnknownNameError("method", name, methods)
    return methods[name]


def uses_seed(name: str) -> bool:
    """Whether a method's result depends on its random state (then benchmarks repeat it per seed)."""
    return "random_state" in inspect.signature(method_class(name)).parameters


def make_ranker(name: str, random_state: int = 0, **params) -> Ranker:
    """A fresh, unfitted ranker by method name; ``random_state`` goes to those that use one."""
    cls = method_class(name)
    if uses_seed(name):
        params.setdefault("random_state", random_state)
    return cls(**params)


__all__ = ["Ranker", "Ranking", "TaskView", "make_ranker", "method_class", "method_names", "uses_seed"]
