"""Inference backends: run a model on prompts and read its option log-probabilities."""

from llm_spider.backends.base import Backend, OptionScores

__all__ = ["Backend", "OptionScores"]
