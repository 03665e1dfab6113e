"""The zoo's history: which model scored what on which task, and where that number came from."""

from llm_spider.zoo.history import History, canonical_task_name

__all__ = ["History", "canonical_task_name"]
