"""Where a named task comes from (tasks/resolve.py): a file given as a name, a Hugging Face dataset
read offline from a local folder, an lm-eval task by its own definitions."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.errors import SpiderError
from llm_spider.tasks import REGISTRY
from llm_spider.tasks.hfdata import Fields
from llm_spider.tasks.resolve import TaskSources, resolve_task, resolve_tasks, task_from_file
from llm_spider.tasks.scoring import scoring_items, task_mode

HARNESS = Path(__file__).resolve().parents[1] / "fixtures" / "harness"


def test_a_file_given_as_a_task_name_is_read_as_a_task_file(tmp_path):
    path = tmp_path / "quiz.jsonl"
    path.write_text(json.dumps({"question": "2 + 2?", "choices": ["3", "4"], "answer": "4"}) + "\n")
    task = resolve_task(str(path))
    assert task.name == "quiz" and REGISTRY.get("quiz") is task and task.items[0].answer == 1


def test_a_task_file_may_not_take_a_built_in_tasks_name(tmp_path):
    path = tmp_path / "arc_easy.jsonl"
    path.write_text(json.dumps({"question": "q", "answer": "a"}) + "\n")
    with pytest.raises(SpiderError, match="a built-in task's name; rename the file"):
        task_from_file(path)
    other = tmp_path / "sub"
    other.mkdir()
    (other / "dup.jsonl").write_text(json.dumps({"question": "q", "answer": "a"}) + "\n")
    (tmp_path / "dup.jsonl").write_text(json.dumps({"question": "r", "answer": "b"}) + "\n")
    with pytest.raises(SpiderError, match="two tasks are named 'dup'"):
        resolve_tasks([], [other / "dup.jsonl", tmp_path / "dup.jsonl"])


def test_a_dataset_folder_read_offline_with_named_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "science_quiz"
    folder.mkdir()
    rows = [{"prompt": f"Which is bigger, {a} or {b}?", "opts": {"text": [str(a), str(b)], "label": ["X", "Y"]},
             "gold": "Y" if b > a else "X"} for a, b in ((3, 5), (9, 2), (4, 7))]
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = f"hf:{folder}:test"
    task = resolve_task(spec, TaskSources(fields=Fields("prompt", "opts", "gold")))
    assert task.name == spec and not task.builtin and len(task.items) == 3
    assert [i.answer for i in task.items] == [1, 0, 1] and task.items[0].choices == ("3", "5")
    assert task_mode(task) == "letter" and scoring_items(task, "continuation")[0].options == (" 3", " 5")
    with pytest.raises(SpiderError, match="no column 'question'.*--question-field"):
        resolve_task(spec)
    with pytest.raises(SpiderError, match="datasets could not read it"):
        resolve_task(f"hf:{folder}:validation")  # no such split


@pytest.mark.skipif(importlib.util.find_spec("lm_eval") is None and not os.environ.get("CI"),
                    reason="lm-evaluation-harness not installed (the [harness] extra); CI installs it")
def test_an_lm_eval_task_is_its_own_prompts_and_ranks_too(monkeypatch):
    monkeypatch.chdir(HARNESS)  # its data_files are relative to where lm-eval runs
    task = resolve_task("lm-eval:spider_add", TaskSources((HARNESS / "tasks",)))
    first = json.loads((HARNESS / "data" / "spider_add.jsonl").read_text().splitlines()[0])
    assert task.rendered and task.scoring == "continuation" and len(task.items) == 30
    assert task.items[0].question == f"Question: {first['question']}\nAnswer:"
    assert task.items[0].choices == tuple(first["choices"]) and task.items[0].answer == first["answer"]
    assert task.render(task.items[0]) == task.items[0].question
    with pytest.raises(SpiderError, match="score it by continuation"):
        scoring_items(task, "letter")
    result = CliRunner().invoke(app, ["rank", "--task", "lm-eval:spider_add", "--lm-eval-include",
                                      str(HARNESS / "tasks"), "--top", "3", "--format", "json"],
                                env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 3
