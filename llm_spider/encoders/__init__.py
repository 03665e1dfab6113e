"""Encoders: a task as a set of vectors (general task tokens)."""

from llm_spider.encoders.profile import LeaderboardProfile, mix_similarity
from llm_spider.encoders.sentence import SentenceEncoder, TaskEncoder, default_encoder_path

__all__ = ["LeaderboardProfile", "mix_similarity", "SentenceEncoder", "TaskEncoder", "default_encoder_path"]
