"""Scoring in this process: a loaded backend, one batch after another."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from llm_spider.backends.base import PartialBatch


def _records(part: Sequence, logprobs, mass, extra, seconds: float) -> list[dict]:
    share = round(seconds / max(len(part), 1), 5)
    extra = extra or [{}] * len(part)
    return [{"i": it.index, "logprobs": [round(float(x), 5) for x in lp], "mass": round(float(m), 5), "s": share, **e}
            for it, lp, m, e in zip(part, logprobs, mass, extra)]


class PartialRecords(Exception):
    """A batch that failed part-way, with the records of its finished items (``records``): the run log
    keeps them, so a served member's paid answers are never asked for again; then ``error`` is raised."""

    def __init__(self, records: list[dict], error: Exception):
        super().__init__(str(error))
        self.records, self.error = records, error


def score_batch(backend, part: Sequence) -> list[dict]:
    """Run ``backend`` on one batch of scoring items; each record carries its share of the batch's
    seconds (``s``), so the time of saved items survives a killed run (zoo/evaluate.py), and what the
    backend reports per item (a server's token usage)."""
    t0 = time.perf_counter()
    try:
        scores = backend.option_logprobs([it.prompt for it in part], [it.options for it in part])
    except PartialBatch as exc:
        done = sorted(exc.done)
        recs = _records([part[i] for i in done], [exc.done[i][0] for i in done], [exc.done[i][1] for i in done],
                        [exc.done[i][2] for i in done], time.perf_counter() - t0)
        raise PartialRecords(recs, exc.error) from None
    return _records(part, scores.logprobs, scores.option_mass, scores.extra, time.perf_counter() - t0)


class LocalScorer:
    """The local executor: ``backend`` scores each batch here, in order."""

    def __init__(self, backend):
        self.backend, self.name = backend, backend.name

    @property
    def forward_passes(self) -> int:
        return self.backend.forward_passes

    def score(self, parts: Sequence[Sequence]) -> Iterator[list[dict]]:
        for part in parts:
            try:
                yield score_batch(self.backend, part)
            except PartialRecords as exc:
                if exc.records:
                    yield exc.records  # logged by the caller before the error goes on
                raise exc.error from None

    def close(self) -> None:
        self.backend.close()
