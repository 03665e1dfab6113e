"""Item-level models of a zoo (models.py) and the prior they give a new task (prior.py)."""

from llm_spider.ranking.items.models import ITEM_MODELS, ItemModel, make_item_model
from llm_spider.ranking.items.prior import CANDIDATES, ItemData, chosen_inner, choose_item_model, item_estimate

__all__ = ["CANDIDATES", "ITEM_MODELS", "ItemData", "ItemModel", "chosen_inner", "choose_item_model",
           "item_estimate", "make_item_model"]
