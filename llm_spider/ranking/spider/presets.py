"""Named Spider settings, each chosen on history (never on the targets it is reported on).

- ``llm``: the defaults (leaderboard-mean prior + history memory), for the leaderboard zoo of ~190
  LLMs and ~100 tasks, where the shipped checkpoint is trained.
- ``live``: a zoo of a dozen models and a couple of dozen history tasks that re-ranks with probe
  tokens. The residual is over the similar tasks' estimate, with task similarity from the encoder
  and the tasks' leaderboard profiles, in place of mean + memory (chosen on small zoos cut from the
  leaderboard table, benchmarks/spider_small_zoos.py). The first pass keeps its own
  early-stopping state: the probe path must train, and on so few tasks that training otherwise
  drags the first pass from its prior by noise.
- ``vision``: an image zoo re-ranking with width-free candidate statistics; longer training.

A preset gives every parameter except ``extra_dim`` where the token width belongs to the caller's
tokens (``spider_params("vision", extra_dim=...)``).
"""

from __future__ import annotations

from llm_spider.errors import UnknownNameError
from llm_spider.ranking.probes import N_FEATURES

LIVE_SIMILARITY = "mixed"  # also the evidence re-rank's prior on live zoos
PRESETS: dict[str, dict] = {
    "llm": {},
    "live": {"extra_dim": N_FEATURES, "prior": "similar", "similarity": LIVE_SIMILARITY, "memory": False,
             "first_pass": "own"},
    "vision": {"epochs": 30, "patience": 4},
}


def spider_params(preset: str, **overrides) -> dict:
    """A preset's keyword arguments for ``SpiderRanker``, with ``overrides`` on top."""
    if preset not in PRESETS:
        raise UnknownNameError("Spider preset", preset, PRESETS)
    return {**PRESETS[preset], **overrides}
