"""A checkpoint's ranking is computed once (api/rank_cache.py): the same table again, without torch,
and computed afresh whenever what it depends on changes."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from llm_spider import api
from llm_spider.errors import UnknownNameError


def test_a_warm_rank_is_the_same_ranking_and_imports_no_torch(tmp_path):
    cache = tmp_path / "cache"
    cold = api.rank("mmlu_anatomy", cache_dir=cache)
    assert len(list((cache / "rankings").glob("*.json"))) == 1
    warm = api.rank("mmlu_anatomy", cache_dir=cache)
    pd.testing.assert_frame_equal(cold.frame(raw=True), warm.frame(raw=True))
    assert cold.notes == warm.notes and cold.accuracy_map == warm.accuracy_map
    code = ("import sys; from llm_spider import api; r = api.rank('mmlu_anatomy', cache_dir=sys.argv[1]); "
            "print(len(r.ranking.models), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(cache)], capture_output=True, text=True,
                         env={**os.environ}, check=True).stdout.split()
    assert out == [str(len(cold.ranking.models)), "False"]
    only = api.rank("mmlu_anatomy", cache_dir=cache, models=list(cold.ranking.models[:2]))
    assert only.ranking.models == cold.ranking.models[:2]
    with pytest.raises(UnknownNameError):
        api.rank("mmlu_anatomy", cache_dir=cache, models=["no-such-model"])


def test_another_checkpoint_or_other_hidden_tasks_rank_afresh(tmp_path):
    cache = tmp_path / "cache"
    api.rank("mmlu_anatomy", cache_dir=cache)
    kept = api.rank("mmlu_anatomy", cache_dir=cache, keep_target_scores=True)
    assert len(list((cache / "rankings").glob("*.json"))) == 2 and kept.hidden == []
    scores = tmp_path / "s.csv"
    scores.write_text("task,score\nmmlu_anatomy,0.55\nmmlu_virology,0.50\nmmlu_marketing,0.72\n")
    api.add_model("my-new-model", scores, cache_dir=cache)  # the user's own checkpoint from now on
    mine = api.rank("mmlu_anatomy", cache_dir=cache)
    assert "my-new-model" in mine.ranking.models and len(list((cache / "rankings").glob("*.json"))) == 3
