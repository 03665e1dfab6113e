import numpy as np
import pandas as pd
import pytest

from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.tasks import get_task
from llm_spider.zoo import History, canonical_task_name


def test_leaderboard_table(leaderboard):
    assert len(leaderboard.models) == 188
    tasks = leaderboard.tasks
    assert sum(t.startswith("mmlu_") for t in tasks) == 57
    assert sum(t.startswith("bbh_") for t in tasks) == 24
    assert "arc_challenge" in tasks and "Arena-Elo" not in tasks
    assert len(leaderboard.complete_models([t for t in tasks if t.startswith("mmlu_")])) == 149
    both = [t for t in tasks if t.startswith(("mmlu_", "bbh_"))]
    assert len(leaderboard.complete_models(both)) == 80


def test_provenance_columns(leaderboard):
    row = leaderboard.scores[leaderboard.scores["task"] == "mmlu_anatomy"].iloc[0]
    assert row["source_task"] == "hendrycksTest-anatomy"
    assert "open-llm-leaderboard" in row["source"]


def test_canonical_names():
    assert canonical_task_name("hendrycksTest-virology") == "mmlu_virology"
    assert canonical_task_name("ARC") == "arc_challenge"
    assert canonical_task_name("bbh_navigate") == "bbh_navigate"


def test_composite_scores_are_question_weighted(leaderboard):
    task = get_task("mmlu_subset")
    scores = leaderboard.task_scores(task.components)
    wide = leaderboard.wide()
    model = wide.index[wide["mmlu_anatomy"].notna()][0]
    w = pd.Series(task.components)
    expected = (wide.loc[model, list(w.index)] * w).sum() / w.sum()
    assert scores[model] == pytest.approx(expected)
    assert scores.notna().sum() == 149


def test_wide_and_long_files_agree(tmp_path):
    wide = pd.DataFrame({"model": ["a", "b"], "hendrycksTest-anatomy": [0.5, 0.6], "bbh_navigate": [0.4, np.nan],
                         "family": ["x", "y"]})
    wide.to_csv(tmp_path / "wide.csv", index=False)
    long = pd.DataFrame({"Model": ["a", "b", "a"], "Task": ["mmlu_anatomy", "mmlu_anatomy", "bbh_navigate"],
                         "Score": [0.5, 0.6, 0.4]})
    long.to_parquet(tmp_path / "long.parquet")
    h1, h2 = History.from_file(tmp_path / "wide.csv"), History.from_file(tmp_path / "long.parquet")
    pd.testing.assert_frame_equal(h1.wide(), h2.wide())
    assert h1.tasks == ["bbh_navigate", "mmlu_anatomy"]
    assert h1.model_info.loc["a", "family"] == "x"


def test_bad_history_files(tmp_path):
    with pytest.raises(SpiderError, match="no such"):
        History.from_file(tmp_path / "missing.csv")
    (tmp_path / "dup.csv").write_text("model,task,score\na,t,0.1\na,t,0.2\n")
    with pytest.raises(SpiderError, match="duplicate"):
        History.from_file(tmp_path / "dup.csv")
    (tmp_path / "nan.csv").write_text("model,task,score\na,t,0.1\nb,t,high\n")
    with pytest.raises(SpiderError, match=r"nan.csv:3"):
        History.from_file(tmp_path / "nan.csv")
    (tmp_path / "text.csv").write_text("model,notes\na,hello\n")
    with pytest.raises(SpiderError, match="numeric"):
        History.from_file(tmp_path / "text.csv")


def test_unknown_model_suggests(leaderboard):
    with pytest.raises(UnknownNameError) as err:
        leaderboard.check_models(["qwen2-72bb"])
    assert "qwen2-72b" in err.value.suggestions


def test_model_scores_from_a_long_file_name_the_right_line(tmp_path):
    from llm_spider.zoo.history import model_scores_from_file

    path = tmp_path / "s.csv"
    path.write_text("model,task,score\na,hendrycksTest-anatomy,0.5\nb,mmlu_anatomy,x\na,ARC,0.7\na,mmlu_virology,\n")
    with pytest.raises(SpiderError, match=r"s\.csv:3: score 'x'"):
        model_scores_from_file(path, "b")
    with pytest.raises(SpiderError, match=r"s\.csv:5"):
        model_scores_from_file(path, "a")
    path.write_text("model,task,score\na,hendrycksTest-anatomy,0.5\na,ARC,0.7\n")
    assert model_scores_from_file(path, "a") == {"mmlu_anatomy": 0.5, "arc_challenge": 0.7}
    with pytest.raises(SpiderError, match="no rows for model 'z'"):
        model_scores_from_file(path, "z")
