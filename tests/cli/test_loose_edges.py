"""The loose edges a new user found (issue 32), each as one line, exit 2, nothing written."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.zoo.recorded import recorded_dir


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def one_line_error(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("args, words", [
    (["select", "--task", "law", "--confidence", "1.5"], ["--confidence", "0.999"]),
    (["select", "--task", "law", "--budget", "0"], ["--budget"]),
    (["select", "--task", "law", "--epsilon", "5"], ["--epsilon", "0.5"]),
    (["selct"], ["No such command", "select"]),
])
def test_a_value_out_of_range_is_one_line_not_a_box(args, words):
    one_line_error(invoke(*args), *words)


def questions(path, n=60):
    path.write_text("".join(json.dumps({"question_id": f"q{i}", "task": "t", "question": f"{i}?", "options": ["a", "b"],
                                        "answer": "A"}) + "\n" for i in range(n)))
    return path


@pytest.mark.parametrize("content, words", [
    ("", ["empty file"]),
    ("model,question_id,correct\n", ["a header but no results"]),
    ("model,question_id,correct\nm1,q0,1\nm1,q1", ["correct must be 1/0"]),  # cut off mid-row
])
def test_an_empty_header_only_or_truncated_results_file_leaves_nothing(tmp_path, content, words):
    results = tmp_path / "r.csv"
    results.write_text(content)
    result = invoke("zoo", "import-items", "--questions", questions(tmp_path / "q.jsonl"), "--results", results,
                    "--name", "mine")
    one_line_error(result, *words)
    assert not recorded_dir("mine").exists() and not list(recorded_dir("").glob("*"))
    # and nothing broken is left for the commands that read recorded zoos
    one_line_error(invoke("select", "--zoo", "mine", "--task", "t"), "unknown recorded zoo 'mine'")


def test_a_failed_reimport_keeps_the_zoo_that_was_there(tmp_path):
    good = tmp_path / "r.csv"
    good.write_text("model,question_id,correct\n" + "".join(f"m{k},q{i},{(i + k) % 2}\n" for k in range(2)
                                                          for i in range(60)))
    q = questions(tmp_path / "q.jsonl")
    assert invoke("zoo", "import-items", "--questions", q, "--results", good, "--name", "mine").exit_code == 0
    before = sorted((p.name, p.stat().st_size) for p in recorded_dir("mine").iterdir())
    bad = tmp_path / "bad.csv"
    bad.write_text("model,question_id,correct\n")
    one_line_error(invoke("zoo", "import-items", "--questions", q, "--results", bad, "--name", "mine"))
    assert sorted((p.name, p.stat().st_size) for p in recorded_dir("mine").iterdir()) == before


@pytest.mark.parametrize("cell, words", [("NaN", ["'NaN' is not a finite number"]), ("", ["the score is empty"]),
                                         ("inf", ["not a finite number"]), ("abc", ["'abc' is not a number"])])
def test_add_model_names_what_is_wrong_with_a_score(tmp_path, cell, words):
    scores = tmp_path / "s.csv"
    scores.write_text(f"task,score\nmmlu_anatomy,{cell}\nmmlu_virology,0.5\nmmlu_marketing,0.7\n")
    one_line_error(invoke("zoo", "add-model", "m", "--scores", scores), f"{scores}:2", *words)


def test_a_task_file_that_is_a_folder_is_named_so(tmp_path):
    one_line_error(invoke("rank", "--task-file", tmp_path), "is a folder")


def test_a_task_of_one_or_repeated_items_is_ranked_with_a_word_of_warning(tmp_path):
    item = json.dumps({"question": "2 + 2?", "choices": ["3", "4"], "answer": 1})
    one = tmp_path / "one.jsonl"
    one.write_text(item + "\n")
    same = tmp_path / "same.jsonl"
    same.write_text((item + "\n") * 40)
    for path, words in ((one, ["1 distinct item"]), (same, ["39 of the 40 items", "1 distinct item"])):
        result = invoke("rank", "--task-file", path, "--top", 2, "--method", "leaderboard")
        assert result.exit_code == 0, result.output
        for w in words:
            assert w in " ".join(result.stderr.split())


@pytest.mark.slow
def test_dtype_is_an_option_and_a_measurement_of_its_own(tmp_path):
    # The out-of-memory hint recommended a --dtype that did not exist.
    one_line_error(invoke("evaluate", "--dtype", "int8", "--task", "bbh_navigate"), "unknown dtype 'int8'",
                   "bfloat16")
    args = ["evaluate", "--models", "smollm2-135m-instruct", "--task", "bbh_navigate", "--max-items", 4,
            "--output", tmp_path / "results", "--cache-dir", tmp_path / "cache", "--format", "json"]
    result = invoke(*args, "--dtype", "bfloat16")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["backend"] == "transformers-bfloat16"
    converted = list((tmp_path / "cache" / "models").iterdir())
    assert len(converted) == 1 and converted[0].name.endswith("-bfloat16")
    meta = json.loads(next((tmp_path / "results" / "runs").rglob("*.meta.json")).read_text())
    assert meta["backend"] == "transformers-bfloat16"  # a float32 run never resumes from it
