"""Label-free selection: agreement with a panel's consensus, leave-self-out, each answer paid once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from llm_spider.errors import SpiderError
from llm_spider.selection import RecordedEvaluator, select_adaptive
from llm_spider.selection.labelfree import ConsensusEvaluator
from llm_spider.zoo.recorded import RecordedZoo


def answered(preds: dict[str, str]) -> RecordedZoo:
    """One task 't'; ``preds[model]``: its answer per item, one letter each (' ' for none)."""
    n = len(next(iter(preds.values())))
    questions = pd.DataFrame({"question_id": np.arange(n), "task": "t"})
    rows = [pd.DataFrame({"model": m, "question_id": np.arange(n), "pred": [c.strip() for c in p],
                          "correct": [int(c == "A") for c in p]}) for m, p in preds.items()]
    return RecordedZoo("toy", questions, pd.concat(rows, ignore_index=True), ("task",), {"task": 1})


def test_agreement_is_with_the_other_voters_ties_go_to_the_stronger_and_no_vote_is_no_evidence():
    zoo = answered({"p1": "ABC ", "p2": "ACB ", "p3": "BBBA", "x": "ABBA"})
    ev = ConsensusEvaluator(RecordedEvaluator(zoo), ["p1", "p2", "p3"])
    # item 0: votes A, A, B -> A; item 1: B, C, B -> B; item 2: C, B, B -> B; item 3: only p3 votes A
    assert list(ev.evaluate("x", "t", [0, 1, 2, 3])) == [1.0, 1.0, 1.0, 1.0]
    # p1 is judged by p2 and p3 alone: item 0 ties A/B -> p2's A (higher prior); item 3: p3's A, p1 has none
    assert list(ev.evaluate("p1", "t", [0, 1, 2, 3])) == [1.0, 0.0, 0.0, 0.0]
    # every (member, item) answer is paid once, however often it votes
    assert ev.unique_evaluations == 16


def test_label_free_selection_finds_a_member_the_panel_agrees_with_without_any_answer_key():
    rng = np.random.default_rng(0)
    n, acc = 600, {"best": 0.8, "good": 0.65, "mid": 0.5, "low": 0.3}
    preds = {m: "".join("A" if rng.random() < a else rng.choice(list("BCDEFGHIJ")) for _ in range(n)) for m, a in acc.items()}
    ev = ConsensusEvaluator(RecordedEvaluator(answered(preds)), list(acc))
    res = select_adaptive(ev, "t", seed=0)
    assert res.pick == "best" and res.stopped == "confidence"


def test_a_panel_needs_two_voters_and_a_zoo_without_answers_says_so():
    zoo = answered({"a": "AB", "b": "AA"})
    with pytest.raises(SpiderError, match="at least two"):
        ConsensusEvaluator(RecordedEvaluator(zoo), ["a"])
    bare = RecordedZoo("bare", zoo.questions, zoo.results.drop(columns=["pred"]), ("task",), {"task": 1})
    with pytest.raises(SpiderError, match="pred"):
        ConsensusEvaluator(RecordedEvaluator(bare), ["a", "b"]).evaluate("a", "t", [0])
