"""The transferability estimators, one per module, by name (``ESTIMATORS``); see base.py."""

from llm_spider.vision.estimators.base import ESTIMATORS, Estimator, register_estimator

__all__ = ["ESTIMATORS", "Estimator", "register_estimator"]
