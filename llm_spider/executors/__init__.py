"""Where item batches are scored: in this process (``local``) or on a Ray cluster (``ray``).

Why one seam: `evaluate` and `select` only need "score these batches of items with this model and
give me each finished batch's records"; whether a backend in this process or an actor on another
machine runs them is the executor's business. The caller appends finished batches to the run log
itself (one writer), so an item is logged exactly once wherever it ran and however often a batch
had to be retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from llm_spider.errors import SpiderError
from llm_spider.executors.local import LocalScorer, score_batch

EXECUTORS = ("local", "ray")


class Scorer(Protocol):
    """``name``: the backend's name (run logs are kept per backend); ``score(parts)`` yields each
    finished batch's records (any order); ``close()`` frees what it holds."""

    name: str

    def score(self, parts: Sequence[Sequence]) -> Iterator[list[dict]]: ...

    def close(self) -> None: ...


def as_scorer(backend_or_scorer) -> Scorer:
    """A loaded backend runs here; anything that already scores batches is used as it is."""
    return backend_or_scorer if hasattr(backend_or_scorer, "score") else LocalScorer(backend_or_scorer)


def open_scorer(executor: str, open_backend: Callable[[], object], name: str, ray_address: str | None = None,
                actors: int = 1, model: str = "", gpus: float = 0.0) -> Scorer:
    """A scorer for one model: ``open_backend()`` loads it (here, or once in each Ray actor, which
    reserves ``gpus`` GPUs)."""
    if executor == "local":
        return LocalScorer(open_backend())
    if executor == "ray":
        from llm_spider.executors.ray import RayScorer

        return RayScorer(open_backend, name, actors=actors, address=ray_address, model=model, gpus=gpus)
    raise SpiderError(f"unknown executor '{executor}'; executors: {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "LocalScorer", "Scorer", "as_scorer", "open_scorer", "score_batch"]
