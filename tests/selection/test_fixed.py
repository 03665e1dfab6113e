"""Fixed-budget selection: the paper's re-rank and probes only."""

from __future__ import annotations

import pandas as pd
import pytest

from llm_spider.errors import SpiderError
from llm_spider.selection import RecordedEvaluator
from llm_spider.selection.fixed import select_fixed
from tests.selection.test_adaptive import ACC, zoo


def test_probes_only_runs_every_candidate_on_the_same_items_and_picks_by_them():
    ev = RecordedEvaluator(zoo(ACC))
    pick, scores, spent = select_fixed(ev, "t", list(ACC), n=200, seed=0)
    assert spent == ev.evaluations == 5 * 200
    assert pick in ("best", "close") and scores["floor"] < scores["mid"] < scores["best"]


def test_rerank_runs_only_the_priors_top_k_and_a_wrong_prior_is_corrected_within_them():
    ev = RecordedEvaluator(zoo(ACC))
    prior = pd.Series({"best": 0.60, "close": 0.72, "mid": 0.65, "weak": 0.3, "floor": 0.2})
    pick, scores, spent = select_fixed(ev, "t", list(ACC), n=300, k=3, prior=prior, prior_strength=5,
                                       shift_var=0.01, seed=0)
    assert spent == 3 * 300 and pick == "best"
    # outside the top k nothing is run: the estimate is the shifted prior
    assert ev.evaluations == 900 and scores["weak"] < scores["mid"]
    with pytest.raises(SpiderError):
        select_fixed(ev, "t", list(ACC), n=8, k=3)  # no prior to take the top k from
