"""Re-ranking by probe evidence (ranking/rerank.py) on synthetic histories with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from llm_spider.errors import SpiderError
from llm_spider.ranking.rerank import (
    ProbeEvidenceReranker,
    probe_accuracy,
    stored_probe_stats,
)
from llm_spider.zoo.history import History

N_PROBES = 16
PROBES = list(range(0, 2 * N_PROBES, 2))  # probe items are every other item: the rest is not read


def _logprobs(correct: bool, answer: int) -> np.ndarray:
    logits = np.zeros(4)
    logits[answer if correct else (answer + 1) % 4] = 3.0
    return logits - np.log(np.exp(logits).sum())


def synthetic(probe_hits, truth, n_tasks: int = 8, seed: int = 0):
    """A history of ``n_tasks`` tasks × 5 models: ``truth(rng, t)`` gives the true scores,
    ``probe_hits(rng, truth_row)`` how many of the 16 probes each model gets right."""
    rng = np.random.default_rng(seed)
    models = [f"m{i}" for i in range(5)]
    rows, items, tokens = [], [], {}
    for t in range(n_tasks):
        name = f"t{t}"
        tokens[name] = rng.normal(size=(6, 8))
        y = truth(rng, t)
        hits = probe_hits(rng, y)
        for m, score, h in zip(models, y, hits):
            rows.append({"model": m, "task": name, "score": float(score)})
            answers = rng.integers(0, 4, size=N_PROBES)
            right = np.zeros(N_PROBES, bool)
            right[rng.permutation(N_PROBES)[:h]] = True
            items.append(pd.DataFrame({"model": m, "task": name, "item": PROBES, "answer": answers,
                                       "logprobs": [_logprobs(c, a) for c, a in zip(right, answers)], "mass": 0.0}))
    return History(pd.DataFrame(rows)), pd.concat(items, ignore_index=True), tokens


def test_probe_accuracy_counts_argmax_hits():
    assert probe_accuracy([_logprobs(True, 2), _logprobs(False, 1), _logprobs(True, 0)], [2, 1, 0]) == pytest.approx(2 / 3)


def test_stored_probe_stats_reads_items_and_leaves_out_incomplete_models():
    history, items, _ = synthetic(lambda rng, y: [0, 4, 8, 12, 16], lambda rng, t: np.linspace(0.2, 0.8, 5), n_tasks=1)
    acc = stored_probe_stats(items, history.models, "t0", PROBES)["probe_accuracy"]
    assert acc.to_dict() == pytest.approx({"m0": 0.0, "m1": 0.25, "m2": 0.5, "m3": 0.75, "m4": 1.0})
    partial = items[~((items["model"] == "m2") & (items["item"] == PROBES[3]))]
    assert "m2" not in stored_probe_stats(partial, history.models, "t0", PROBES).index


def test_probes_that_are_the_truth_get_all_the_weight():
    # Each task's truth is a fresh random draw (history says nothing), measured exactly by the probes.
    history, items, tokens = synthetic(lambda rng, y: np.round(y * N_PROBES).astype(int),
                                       lambda rng, t: rng.integers(0, N_PROBES + 1, size=5) / N_PROBES)
    ev = ProbeEvidenceReranker().fit(history, tokens, items, lambda t: PROBES)
    assert ev.n_tasks_ == 8 and ev.n_rows_ == 40
    assert ev.probe_weight_ > 0.95 and ev.r2_ > 0.95
    pred = ev.predict(pd.Series({"m0": 0.9, "m1": 0.1}), pd.DataFrame({"probe_accuracy": [0.25, 0.75]}, ["m0", "m1"]))
    assert pred.idxmax() == "m1"


def test_noise_probes_defer_to_a_history_that_knows():
    # Skills are the same on every task; the probes are coin flips unrelated to them.
    skill = np.array([0.2, 0.35, 0.5, 0.65, 0.8])
    history, items, tokens = synthetic(lambda rng, y: rng.integers(2, 15, size=5),
                                       lambda rng, t: skill + rng.normal(0, 0.01, size=5))
    ev = ProbeEvidenceReranker().fit(history, tokens, items, lambda t: PROBES)
    assert ev.probe_weight_ < 0.1
    pred = ev.predict(pd.Series({"m0": 0.2, "m4": 0.8}), pd.DataFrame({"probe_accuracy": [0.9, 0.3]}, ["m0", "m4"]))
    assert pred.idxmax() == "m4"


def test_too_little_stored_evidence_is_a_clear_error():
    history, items, tokens = synthetic(lambda rng, y: [8] * 5, lambda rng, t: np.linspace(0.2, 0.8, 5), n_tasks=3)
    with pytest.raises(SpiderError, match="at least two models on 3 history tasks; found 0"):
        ProbeEvidenceReranker().fit(history, tokens, items.iloc[:0], lambda t: PROBES)
    with pytest.raises(SpiderError, match="not fitted"):
        ProbeEvidenceReranker().predict(pd.Series({"a": 1.0}), pd.DataFrame({"probe_accuracy": [1.0]}, ["a"]))


def test_probe_weight_reads_the_prior_by_name_whatever_the_feature_order():
    history, items, tokens = synthetic(lambda rng, y: np.round(y * N_PROBES).astype(int),
                                       lambda rng, t: rng.integers(0, N_PROBES + 1, size=5) / N_PROBES)
    a = ProbeEvidenceReranker(("prior", "probe_accuracy")).fit(history, tokens, items, lambda t: PROBES)
    b = ProbeEvidenceReranker(("probe_accuracy", "prior")).fit(history, tokens, items, lambda t: PROBES)
    assert a.probe_weight_ == pytest.approx(b.probe_weight_)
    with pytest.raises(SpiderError, match="features must be 'prior'"):
        ProbeEvidenceReranker(("probe_accuracy",))
