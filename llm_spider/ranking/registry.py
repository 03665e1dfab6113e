"""The rankers by method name: built-ins as lazy strings (no torch import to list them), and every
module of ``llm_spider.baselines`` discovered, so a new baseline is one file with ``@register_ranker``."""

from __future__ import annotations

import inspect

from llm_spider.ranking.base import Ranker
from llm_spider.registry import Registry

RANKERS: Registry[type[Ranker]] = Registry(
    "method",
    builtins={
        "spider": "llm_spider.ranking.spider.ranker:SpiderRanker",
        "similar-tasks": "llm_spider.baselines.similar_tasks:SimilarTasksRanker",
        "leaderboard": "llm_spider.baselines.leaderboard:LeaderboardRanker",
        "random": "llm_spider.baselines.random:RandomRanker",
    },
    discover=("llm_spider.baselines",),
    name_attr="name",
)
register_ranker = RANKERS.register


def method_names() -> list[str]:
    return RANKERS.names()


def method_class(name: str) -> type[Ranker]:
    """The ranker class of a method name; raises with the closest names on a typo."""
    return RANKERS.get(name)


def uses_seed(name: str) -> bool:
    """Whether a method's result depends on its random state (then benchmarks repeat it per seed)."""
    return "random_state" in inspect.signature(method_class(name)).parameters


def make_ranker(name: str, random_state: int = 0, **params) -> Ranker:
    """A fresh, unfitted ranker by method name; ``random_state`` goes to those that use one."""
    cls = method_class(name)
    if uses_seed(name):
        params.setdefault("random_state", random_state)
    return cls(**params)
