"""Scoring in this process: a loaded backend, one batch after another."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from llm_spider.backends.base import PartialBatch


def _records(part: Sequence, logprobs, mass, extra, seconds: float) -> list[dict]:
    """One run-log record per item. Option modes keep ``logprobs`` (what the choice is made by: the
    option letters' normalised log-probabilities, or the options' continuation log-likelihoods, per
    character for continuation-norm, whose raw sums are kept as ``ll``); generated answers keep the
    ``text`` and its ``extracted`` answer."""
    from llm_spider.tasks.scoring import decision_scores

    share = round(seconds / max(len(part), 1), 5)
    extra = extra or [{}] * len(part)
    out = []
    for it, lp, m, e in zip(part, logprobs, mass, extra):
        mode = getattr(it, "mode", "letter")
        if mode == "generate":
            out.append({"i": it.index, "text": lp, "extracted": it.read(lp), "s": share, **e})
        elif mode == "letter":
            out.append({"i": it.index, "logprobs": [round(float(x), 5) for x in lp], "mass": round(float(m), 5),
                        "s": share, **e})
        else:
            out.append({"i": it.index, "logprobs": [round(float(x), 7) for x in decision_scores(it, lp)],
                        "ll": [round(float(x), 6) for x in lp], "mass": float("nan"), "s": share, **e})
    return out


def run_backend(backend, part: Sequence, progress=None):
    """The backend call a batch's mode needs: (per item: option scores or generated text, mass, extra)."""
    mode = getattr(part[0], "mode", "letter") if part else "letter"
    prompts = [it.prompt for it in part]
    if mode == "generate":
        gen = part[0].generation
        texts = backend.generate(prompts, gen.max_new_tokens, list(gen.stop), progress=progress)
        return [t for t, _ in texts], [float("nan")] * len(part), [e for _, e in texts]
    if mode == "letter":
        scores = backend.option_logprobs(prompts, [it.options for it in part], progress=progress)
    else:
        scores = backend.continuation_logprobs(prompts, [it.options for it in part], progress=progress)
    return scores.logprobs, scores.option_mass, scores.extra


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
        logprobs, mass, extra = run_backend(backend, part)
    except PartialBatch as exc:
        done = sorted(exc.done)
        recs = _records([part[i] for i in done], [exc.done[i][0] for i in done], [exc.done[i][1] for i in done],
                        [exc.done[i][2] for i in done], time.perf_counter() - t0)
        raise PartialRecords(recs, exc.error) from None
    return _records(part, logprobs, mass, extra, time.perf_counter() - t0)


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
