"""Inference backends: run a model on prompts and read its option log-probabilities."""

from llm_spider.backends.base import Backend, OptionScores
from llm_spider.backends.registry import BACKENDS, register_backend

__all__ = ["BACKENDS", "Backend", "OptionScores", "register_backend"]
