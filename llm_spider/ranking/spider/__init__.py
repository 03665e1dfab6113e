"""Model Spider: the network (net.py), its priors (priors.py), training (train.py), the estimator
(ranker.py), adding a model (add_model.py), checkpoints (io.py) and named settings (presets.py)."""

from llm_spider.ranking.spider.presets import PRESETS, spider_params
from llm_spider.ranking.spider.ranker import SpiderRanker

__all__ = ["PRESETS", "SpiderRanker", "spider_params"]
