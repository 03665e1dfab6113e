"""Scoring in this process: a loaded backend, one batch after another."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence


def score_batch(backend, part: Sequence) -> list[dict]:
    """Run ``backend`` on one batch of scoring items; each record carries its share of the batch's
    seconds (``s``), so the time of saved items survives a killed run (zoo/evaluate.py)."""
    t0 = time.perf_counter()
    scores = backend.option_logprobs([it.prompt for it in part], [it.options for it in part])
    share = round((time.perf_counter() - t0) / max(len(part), 1), 5)
    return [{"i": it.index, "logprobs": [round(float(x), 5) for x in lp], "mass": round(float(m), 5), "s": share}
            for it, lp, m in zip(part, scores.logprobs, scores.option_mass)]


class LocalScorer:
    """The local executor: ``backend`` scores each batch here, in order."""

    def __init__(self, backend):
        self.backend, self.name = backend, backend.name

    @property
    def forward_passes(self) -> int:
        return self.backend.forward_passes

    def score(self, parts: Sequence[Sequence]) -> Iterator[list[dict]]:
        for part in parts:
            yield score_batch(self.backend, part)

    def close(self) -> None:
        self.backend.close()
