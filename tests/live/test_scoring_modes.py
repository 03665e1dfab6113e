"""Scoring modes on real models (issue 34): lm-eval's own task definitions through the transformers
backend give lm-eval's log-likelihoods and accuracies; a generated-answer task of our own runs
through evaluate, compare and select, and a killed generative run resumes without generating an item
twice; a user's multiple-choice file runs through evaluate and select."""

from __future__ import annotations

import glob
import importlib.util
import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.tasks import load_task_file
from llm_spider.tasks.scoring import Scoring
from llm_spider.zoo.evaluate import LocalStore, evaluate_run
from llm_spider.zoo.local import load_backend, load_zoo

ZOO = load_zoo("local")
MEMBERS = ("smollm2-135m-instruct", "gemma3-270m", "qwen2.5-coder-0.5b-instruct")
HARNESS = Path(__file__).resolve().parents[1] / "fixtures" / "harness"
WORDS = Path(__file__).resolve().parents[1] / "fixtures" / "tasks" / "word_problems.jsonl"
TASKS = ("spider_add", "spider_arith", "spider_largest", "spider_letters")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not all(ZOO.get(m).installed for m in MEMBERS) or importlib.util.find_spec("gguf") is None,
    reason="the local zoo's three default members are not installed")]
runner = CliRunner()
GEN = ["--extract", "last-number", "--metric", "numeric", "--stop", "\\n", "--max-new-tokens", "16"]


def invoke(*args, cwd=None):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200", "HF_HUB_OFFLINE": "1",
                                                          "HF_DATASETS_OFFLINE": "1"})


@pytest.mark.skipif(importlib.util.find_spec("lm_eval") is None and not os.environ.get("CI"),
                    reason="lm-evaluation-harness not installed (the [harness] extra); CI installs it")
def test_lm_eval_task_definitions_give_lm_evals_loglikelihoods_and_accuracies(tmp_path, monkeypatch):
    """The fixtures are lm-eval 0.4.13's own runs of the three members on the same converted weights
    (tests/fixtures/harness/make_fixtures.py); the tasks' data paths are relative to that folder, as
    lm-eval read them."""
    monkeypatch.chdir(HARNESS)
    out = tmp_path / "results"
    worst = 0.0
    for mode, metric in (("continuation", "acc"), ("continuation-norm", "acc_norm")):
        result = invoke("evaluate", "--zoo", "local", "--models", ",".join(MEMBERS), "--task",
                        ",".join(f"lm-eval:{t}" for t in TASKS), "--lm-eval-include", HARNESS / "tasks",
                        "--scoring", mode, "--output", out, "--format", "json")
        assert result.exit_code == 0, result.output
        rows = {(r["model"], r["task"]): r for r in json.loads(result.stdout)}
        assert len(rows) == 12 and {r["scoring"] for r in rows.values()} == {mode}
        for member in MEMBERS:
            lm = json.loads(Path(glob.glob(str(HARNESS / "out" / f"models__{member}" / "results_*.json"))[0]).read_text())
            for task in TASKS:
                row = rows[(member, f"lm-eval:{task}")]
                assert row["accuracy"] == lm["results"][task][f"{metric},none"], (member, task, mode)
                assert row["items"] == lm["results"][task]["sample_len"]
                samples = [json.loads(line) for line in open(glob.glob(
                    str(HARNESS / "out" / f"models__{member}" / f"samples_{task}_*.jsonl"))[0])]
                suffix = "" if mode == "continuation" else ".continuation-norm"
                log = out / "runs" / member / f"lm-eval_{task}~*"  # the task's file name: a slug and a hash
                logged = {r["i"]: r for r in map(json.loads, open(glob.glob(f"{log}{suffix}.jsonl")[0]))}
                for s in samples:
                    want = np.array([float(x[0]) for x in s["filtered_resps"]])
                    worst = max(worst, float(np.abs(np.array(logged[s["doc_id"]]["ll"]) - want).max()))
    print(f"largest difference from lm-eval's filtered_resps: {worst:.2e}")
    assert worst < 1e-3


def test_a_generated_answer_task_through_evaluate_compare_and_select(tmp_path):
    members = "smollm2-135m-instruct,gemma3-270m"
    out = tmp_path / "results"
    result = invoke("evaluate", "--zoo", "local", "--models", members, "--task-file", WORDS, *GEN, "--output", out,
                    "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["task"], r["items"], r["scoring"]) for r in rows] == [("word_problems", 48, "generate")] * 2
    logged = [json.loads(line) for line in (out / "runs" / "gemma3-270m" / "word_problems.generate.jsonl").open()]
    assert len(logged) == 48 and all("text" in r and "extracted" in r for r in logged)
    task = load_task_file(WORDS)
    right = sum(r["extracted"] != "" and float(r["extracted"]) == float(task.items[r["i"]].answer) for r in logged)
    assert right / 48 == pytest.approx(next(r["accuracy"] for r in rows if r["model"] == "gemma3-270m"))

    result = invoke("compare", "--zoo", "local", "--models", members, "--task-file", WORDS, *GEN, "--results", out,
                    "--probes", "6", "--format", "json")
    assert result.exit_code == 0, result.output
    methods = {r["method"]: r for r in json.loads(result.stdout)}
    assert {"leaderboard", "spider", "brute force (probes)", "brute force"} <= set(methods)
    assert "spider+rerank" not in methods and "option scores" in result.stderr  # said, not silently dropped
    assert methods["brute force"]["top1_accuracy"] == max(r["accuracy"] for r in rows)

    result = invoke("select", "--zoo", "local", "--models", members, "--task-file", WORDS, *GEN, "--results", out)
    assert result.exit_code == 0, result.output
    assert "(0 run now, the rest from run logs)" in " ".join(result.stdout.split())  # evaluate's generations, reused

    page = tmp_path / "report.html"
    result = invoke("report", "--zoo", "local", "--models", members, "--task-file", WORDS, *GEN, "--results", out,
                    "--output", page)
    assert result.exit_code == 0, result.output
    html = page.read_text()
    pick = html.split('id="verdict"><strong>')[1].split("<")[0]
    shown = [json.loads(line) for line in (out / "runs" / pick / "word_problems.generate.jsonl").open()]
    first = sorted(shown, key=lambda r: r["i"])[0]
    assert f"Generated answers of {pick}" in html and task.items[first["i"]].question in html


def _generate(root: str) -> None:
    task, m = load_task_file(WORDS), ZOO.get("smollm2-135m-instruct")
    evaluate_run(load_backend(m), m, task, LocalStore(Path(root)), chunk=4,
                 scoring=Scoring("generate", {"extract": "last-number", "metric": "numeric", "stop": ("\n",),
                                              "max_new_tokens": 16}))


def test_a_killed_generative_run_resumes_without_generating_an_item_twice(tmp_path):
    task, m = load_task_file(WORDS), ZOO.get("smollm2-135m-instruct")
    scoring = Scoring("generate", {"extract": "last-number", "metric": "numeric", "stop": ("\n",), "max_new_tokens": 16})
    log = LocalStore(tmp_path).run_log(m.name, task, "transformers", "generate",
                                       __import__("llm_spider.tasks.scoring", fromlist=["x"]).task_generation(task, scoring))
    child = multiprocessing.get_context("spawn").Process(target=_generate, args=(str(tmp_path),))
    child.start()
    deadline = time.time() + 300
    while time.time() < deadline and (not log.path.is_file() or len(log.path.read_text().splitlines()) < 8):
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    saved = len(log.load())
    assert 8 <= saved < 48 and saved % 4 == 0
    backend = load_backend(m)
    row = evaluate_run(backend, m, task, LocalStore(tmp_path), chunk=4, scoring=scoring)
    assert backend.forward_passes == 48 - saved  # only the rest was generated
    ids = [json.loads(line)["i"] for line in log.path.read_text().splitlines()]
    assert sorted(ids) == list(range(48))  # each item once
    fresh = evaluate_run(load_backend(m), m, task, LocalStore(tmp_path / "fresh"), chunk=4, scoring=scoring)
    assert row["score"] == fresh["score"]  # greedy: the resumed run is the uninterrupted one


def test_a_users_multiple_choice_file_through_evaluate_and_select(tmp_path):
    mine = tmp_path / "my.jsonl"
    mine.write_text((HARNESS / "data" / "spider_arith.jsonl").read_text())
    out = tmp_path / "results"
    result = invoke("evaluate", "--zoo", "local", "--task-file", mine, "--output", out, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["model"] for r in rows} == set(MEMBERS)
    for r in rows:
        assert {"model", "task", "accuracy", "items", "scoring"} <= set(r)
        assert (r["task"], r["items"], r["scoring"]) == ("my", 30, "letter")
    result = invoke("select", "--zoo", "local", "--task-file", mine, "--results", out, "--format", "json")
    assert result.exit_code == 0, result.output
    picked = json.loads(result.stdout)
    assert {r["model"] for r in picked} == set(MEMBERS)
