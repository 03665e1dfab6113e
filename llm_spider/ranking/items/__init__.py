"""Item-level models of a zoo (models.py, ridge.py) and the prior they give a new task (prior.py)."""

from llm_spider.ranking.items.models import ITEM_MODELS, ItemModel, make_item_model
from llm_spider.ranking.items.prior import ALPHAS, ItemData, item_estimate, loto

__all__ = ["ALPHAS", "ITEM_MODELS", "ItemData", "ItemModel", "item_estimate", "loto", "make_item_model"]
