"""Encoders: a task as a set of vectors (general task tokens)."""

from llm_spider.encoders.sentence import (
    SentenceEncoder,
    TaskEncoder,
    default_encoder_path,
)

__all__ = ["SentenceEncoder", "TaskEncoder", "default_encoder_path"]
