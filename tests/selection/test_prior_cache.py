"""`select`'s calibrated prior is computed once per zoo, level, task and history content, and
afresh when the history changes (selection/prior.compute_prior)."""

from __future__ import annotations

import json

import pandas as pd

from llm_spider import api


def write_zoo(folder, shift: int):
    q = folder / "q.jsonl"
    q.write_text("".join(json.dumps({"question_id": f"q{t}-{i}", "task": f"t{t}", "question": f"{t} {i}?",
                                     "options": ["a", "b"], "answer": "A"}) + "\n" for t in range(4) for i in range(60)))
    r = folder / f"r{shift}.csv"
    r.write_text("model,question_id,correct\n" + "".join(
        f"m{k},q{t}-{i},{int((i * (k + 1) + t) % 5 < k + 1 + (shift if (k, t) == (0, 1) else 0))}\n" for k in range(3) for t in range(4) for i in range(60)))
    return q, r


def test_the_prior_is_read_back_and_recomputed_when_the_history_changes(tmp_path):
    q, r = write_zoo(tmp_path, 0)
    api.import_items(q, r, "mine")
    first = api.select("t0", "mine", prior="leaderboard", cache_dir=tmp_path / "cache")
    again = api.select("t0", "mine", prior="leaderboard", cache_dir=tmp_path / "cache")
    assert (first.prior_cached, again.prior_cached) == (False, True)
    assert first.result.pick == again.result.pick and first.prior_strength == again.prior_strength
    pd.testing.assert_series_equal(first.result.mean, again.result.mean)
    assert set(first.seconds) == {"total", "prior", "evaluation"}
    q, r = write_zoo(tmp_path, 1)  # the same zoo name, m0 better on t1: another history
    api.import_items(q, r, "mine")
    changed = api.select("t0", "mine", prior="leaderboard", cache_dir=tmp_path / "cache")
    assert not changed.prior_cached
    assert len(list((tmp_path / "cache" / "priors").glob("*.json"))) == 2
