"""Selection: the best model of a zoo for a task to a stated confidence, at a measured cost.
``evaluators.py`` answers "model m on items I" (recorded or live); ``adaptive.py`` decides which
member to evaluate next and when to stop."""

from llm_spider.selection.adaptive import AdaptiveResult, select_adaptive
from llm_spider.selection.evaluators import ItemEvaluator, RecordedEvaluator

__all__ = ["AdaptiveResult", "ItemEvaluator", "RecordedEvaluator", "select_adaptive"]
