"""Adaptive selection on recorded zoos with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from llm_spider.errors import SpiderError
from llm_spider.selection import RecordedEvaluator, select_adaptive
from llm_spider.zoo.recorded import RecordedZoo


def zoo(accuracies: dict[str, float], n_items: int = 800, seed: int = 0) -> RecordedZoo:
    """One task 't' of ``n_items``; each model right on a seeded share of items equal to its accuracy."""
    rng = np.random.default_rng(seed)
    questions = pd.DataFrame({"question_id": np.arange(n_items), "task": "t"})
    rows = []
    for m, acc in accuracies.items():
        right = rng.permutation(n_items) < round(acc * n_items)
        rows.append(pd.DataFrame({"model": m, "question_id": np.arange(n_items), "correct": right.astype(int)}))
    return RecordedZoo("toy", questions, pd.concat(rows, ignore_index=True), ("task",), {"task": 1})


ACC = {"best": 0.70, "close": 0.66, "mid": 0.55, "weak": 0.40, "floor": 0.25}


def test_settles_on_the_best_within_epsilon_at_a_fraction_of_brute_force():
    # The flat prior's 95 % is over the prior, not this instance: with 'close' just 2 epsilon behind,
    # about one run in eight settles on it (measured 5 of 40 seeds). Most do not.
    good, near, far = 0, 0, 0
    for seed in range(20):
        ev = RecordedEvaluator(zoo(ACC))
        res = select_adaptive(ev, "t", epsilon=0.02, confidence=0.95, seed=seed)
        assert res.stopped == "confidence" and res.p_good >= 0.95
        good += ACC[res.pick] >= max(ACC.values()) - 0.02
        assert res.evaluations == ev.evaluations == res.evaluated.sum() and res.cost_share < 0.6
        near += res.evaluated[["best", "close"]].sum()
        far += res.evaluated[["weak", "floor"]].sum()
    assert good >= 15
    assert near > 3 * far  # the items go to the two contenders, hardly to the clearly weak


def test_a_right_prior_saves_evaluations_and_a_flat_one_does_not_mislead():
    truth = pd.Series(ACC)
    flat = [select_adaptive(RecordedEvaluator(zoo(ACC)), "t", seed=s) for s in range(10)]
    informed = [select_adaptive(RecordedEvaluator(zoo(ACC)), "t", prior=truth, prior_strength=200, seed=s)
                for s in range(10)]
    assert sum(r.evaluations for r in informed) < sum(r.evaluations for r in flat) / 1.8  # measured: 1588 vs 3312
    assert sum(ACC[r.pick] >= 0.68 for r in informed + flat) >= 18


def test_exhausting_the_items_gives_the_exact_accuracies_and_a_budget_is_kept():
    # A member evaluated on every item is known exactly (its interval has no width).
    res = select_adaptive(RecordedEvaluator(zoo(ACC, n_items=16)), "t", epsilon=0.0, confidence=0.99, seed=1)
    full = res.evaluated[res.evaluated == 16].index
    assert len(full) >= 2
    for m in full:
        assert res.mean[m] == pytest.approx(round(ACC[m] * 16) / 16) and res.high[m] - res.low[m] < 1e-9
    # A tie on the whole task may be settled before every item is seen, and rightly: either pick is
    # within 0 of the best. (The old form of this test read such a stop as one to exclude.)
    tie = zoo({"a": 0.5, "b": 0.5}, n_items=40)
    truth = tie.results.groupby("model")["correct"].mean()
    for seed in range(5):
        res = select_adaptive(RecordedEvaluator(tie), "t", epsilon=0.0, confidence=0.99, seed=seed)
        assert truth[res.pick] >= truth.max() and res.p_good >= 0.99
    capped = select_adaptive(RecordedEvaluator(zoo(ACC)), "t", budget=30, seed=0)
    assert capped.stopped == "budget" and capped.evaluations == 30


def test_same_seed_same_run_and_refusals():
    a = select_adaptive(RecordedEvaluator(zoo(ACC)), "t", seed=5)
    b = select_adaptive(RecordedEvaluator(zoo(ACC)), "t", seed=5)
    assert (a.pick, a.evaluations, a.evaluated.tolist()) == (b.pick, b.evaluations, b.evaluated.tolist())
    with pytest.raises(SpiderError, match="two candidates"):
        select_adaptive(RecordedEvaluator(zoo(ACC)), "t", candidates=["best"])
    with pytest.raises(SpiderError, match="confidence"):
        select_adaptive(RecordedEvaluator(zoo(ACC)), "t", confidence=1.0)


def test_the_common_shift_is_learnt_so_a_hard_task_does_not_favour_the_unevaluated():
    # the prior has every member 0.25 too high (a task harder than the history), in the right order.
    # The first items of the evaluated members lower every member's estimate, the unevaluated ones
    # included, instead of leaving those at the prior's level above the evaluated.
    prior = pd.Series(ACC) + 0.25
    res = select_adaptive(RecordedEvaluator(zoo(ACC)), "t", prior=prior, prior_strength=90, shift_var=0.02, seed=3)
    assert res.pick == "best" and res.stopped == "confidence"
    never = res.evaluated[res.evaluated == 0].index
    assert len(never) and all(abs(res.mean[m] - ACC[m]) < 0.08 for m in never)
    blind = select_adaptive(RecordedEvaluator(zoo(ACC)), "t", prior=prior, prior_strength=90, seed=3)
    assert all(blind.mean[m] > ACC[m] + 0.2 for m in blind.evaluated[blind.evaluated == 0].index)


def drawn_zoo(centre: pd.Series, strength: float, n_items: int, rng) -> tuple[RecordedZoo, pd.Series]:
    """A zoo drawn from the very prior selection is told: each member's accuracy from
    Beta(1 + s·c, 1 + s·(1 − c)), then each item right with that probability. Returns the zoo and
    each member's accuracy on its items (the truth a pick is judged against)."""
    questions = pd.DataFrame({"question_id": np.arange(n_items), "task": "t"})
    rows, truth = [], {}
    for m, c in centre.items():
        p = rng.beta(1 + strength * c, 1 + strength * (1 - c))
        right = (rng.random(n_items) < p).astype(int)
        truth[m] = right.mean()
        rows.append(pd.DataFrame({"model": m, "question_id": np.arange(n_items), "correct": right}))
    zoo_ = RecordedZoo("drawn", questions, pd.concat(rows, ignore_index=True), ("task",), {"task": 1})
    return zoo_, pd.Series(truth)


def share_within(epsilon_asked: float, epsilon_judged: float, runs: int, confidence: float) -> tuple[float, int]:
    """Over ``runs`` seeded zoos drawn from the prior: the share of picks within ``epsilon_judged``
    of the true best when selection was asked for ``epsilon_asked``, and the evaluations spent."""
    rng = np.random.default_rng(2024)
    centre = pd.Series({"a": 0.62, "b": 0.61, "c": 0.60, "d": 0.58, "e": 0.55, "f": 0.50})  # close contests
    hits, spent = 0, 0
    for run in range(runs):
        z, truth = drawn_zoo(centre, 150.0, 300, rng)
        res = select_adaptive(RecordedEvaluator(z), "t", prior=centre, prior_strength=150.0, epsilon=epsilon_asked,
                              confidence=confidence, seed=run, samples=1000)
        hits += truth[res.pick] >= truth.max() - epsilon_judged
        spent += res.evaluations
    return hits / runs, spent


@pytest.mark.slow
def test_the_stated_confidence_holds_against_the_truth():
    # The promise `select` prints: P(pick within epsilon of the best) >= confidence. Judged here
    # against each zoo's true accuracies (never against the posterior's own p_good), over zoos drawn
    # from the prior the selection is given, where that probability is a frequency. Allowance for
    # sampling error: two binomial sds below the confidence (200 runs at 0.9: 0.042).
    runs, confidence = 200, 0.9
    floor = confidence - 2 * np.sqrt(confidence * (1 - confidence) / runs)
    share, spent = share_within(0.02, 0.02, runs, confidence)
    assert share >= floor, f"{share:.3f} of picks within 0.02 of the best, promised {confidence}"
    # The test can fail: a rule that stops on a looser epsilon than the one it states spends
    # fewer items and breaks the promise.
    loose, loose_spent = share_within(0.05, 0.02, runs, confidence)
    assert loose < floor and loose_spent < spent
