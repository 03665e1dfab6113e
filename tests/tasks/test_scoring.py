"""Scoring modes (tasks/scoring.py): the prompts and options each mode makes, how an item is judged,
run logs kept apart per mode, and the bad inputs refused before any model loads."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from llm_spider.backends.base import Backend, OptionScores
from llm_spider.cli import app
from llm_spider.errors import SpiderError, TaskFileError
from llm_spider.tasks import load_task_file
from llm_spider.tasks.base import Item, Task
from llm_spider.tasks.scoring import Generation, Scoring, item_correct, scoring_items, task_generation, task_mode
from llm_spider.zoo.evaluate import LocalStore, evaluate_run
from llm_spider.zoo.members import LocalModel

runner = CliRunner()
HARNESS_TASKS = Path(__file__).resolve().parents[1] / "fixtures" / "harness" / "tasks"


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def mixed_task(tmp_path):
    return load_task_file(write(tmp_path / "mixed.jsonl", [
        {"question": "2 + 2?", "choices": ["3", "four", "5"], "answer": 1},
        {"question": "Capital of France?", "answer": ["Paris", "paris, france"]},
        {"question": "7 * 6?", "answer": 42},
    ]))


def test_a_free_form_answer_may_be_a_list_of_accepted_strings(tmp_path):
    task = mixed_task(tmp_path)
    assert task.items[1].answer == ("Paris", "paris, france") and task.items[2].answer == "42"
    assert not task.builtin and task_mode(task) == "letter"  # it has options: letter unless asked


def test_each_mode_makes_its_own_prompts(tmp_path):
    task = mixed_task(tmp_path)
    letter = scoring_items(task, "letter")
    assert [it.index for it in letter] == [0] and letter[0].options == (" A", " B", " C")
    assert "A. 3" in letter[0].prompt
    cont = scoring_items(task, "continuation")
    assert cont[0].options == (" 3", " four", " 5") and cont[0].lengths == (1.0, 4.0, 1.0)
    assert cont[0].prompt == "Question: 2 + 2?\nAnswer:" and "four" not in cont[0].prompt
    gen = scoring_items(task, "generate")
    assert [it.index for it in gen] == [0, 1, 2]
    assert gen[0].accepted == ("B",) and gen[0].generation.extract == "letter"  # generated multiple choice
    assert gen[1].accepted == ("Paris", "paris, france") and gen[1].generation.extract == "first-line"


def test_continuation_norm_divides_by_the_options_length(tmp_path):
    item = scoring_items(mixed_task(tmp_path), "continuation-norm")[0]
    from llm_spider.tasks.scoring import decision_scores

    lls = [-3.0, -8.0, -3.5]  # "four" is 4 characters: -2.0 per character, the best per character
    assert np.argmax(lls) == 0 and np.argmax(decision_scores(item, lls)) == 1


def test_a_generated_answer_is_read_at_judging_time(tmp_path):
    items = scoring_items(mixed_task(tmp_path), "generate")
    assert item_correct(items[1], {"text": " paris, France.\n"}) and not item_correct(items[1], {"text": "Lyon"})
    assert item_correct(items[0], {"text": "The answer is B"}) and not item_correct(items[0], {"text": ""})
    numeric = scoring_items(mixed_task(tmp_path), "generate", Generation(extract="last-number", metric="numeric"))
    assert item_correct(numeric[2], {"text": "6 times 7 is 42.0"})


def test_said_generation_settings_replace_only_themselves():
    task = Task("t", "x", "", "qa.jinja", lambda: [Item("q", (), "a")], builtin=False,
                generation=Generation(max_new_tokens=200, stop=("Q:",), extract="regex:#### (\\d+)"))
    gen = task_generation(task, Scoring(None, {"metric": "numeric"}))
    assert (gen.max_new_tokens, gen.stop, gen.extract, gen.metric) == (200, ("Q:",), "regex:#### (\\d+)", "numeric")
    with pytest.raises(SpiderError, match="unknown scoring 'logits'"):
        Scoring("logits")


@pytest.mark.parametrize("row, says", [
    ({"question": "q", "choices": ["a", "b"], "answer": ["a", "b"]}, "'choices' or a list of accepted answers, not both"),
    ({"question": "q", "answer": []}, "non-empty list"),
    ({"question": "q", "answer": {"x": 1}}, "a string, a number or a list"),
])
def test_bad_answers_name_the_line(tmp_path, row, says):
    with pytest.raises(TaskFileError, match=re.escape(says)) as exc:
        load_task_file(write(tmp_path / "bad.jsonl", [{"question": "ok", "answer": "x"}, row]))
    assert "bad.jsonl:2:" in str(exc.value)


class ScriptedBackend(Backend):
    """Answers from a script, to check the bookkeeping of modes (the models' own numbers are checked
    against lm-eval in tests/live/test_scoring_modes.py)."""

    name = "scripted"

    def option_logprobs(self, prompts, options, progress=None):
        self.forward_passes += len(prompts)
        return OptionScores([np.log(np.full(len(o), 1 / len(o))) for o in options], np.zeros(len(prompts)))

    def continuation_logprobs(self, prompts, options, progress=None):
        self.forward_passes += sum(len(o) for o in options)
        return OptionScores([-np.array([len(x) for x in o], dtype=float) for o in options], np.full(len(prompts), np.nan))

    def generate(self, prompts, max_new_tokens, stop, progress=None):
        self.forward_passes += len(prompts)
        return [("Paris\n" if "France" in p else "B", {}) for p in prompts]


def member():
    return LocalModel("m", "m", 0.1, True, ("fake==1",), "", (("no_such_module_xyz", "f.gguf"),), "0" * 64)


def test_run_logs_are_kept_per_mode_and_never_reused_across_modes(tmp_path):
    task, store = mixed_task(tmp_path), LocalStore(tmp_path / "store")
    rows = {mode: evaluate_run(ScriptedBackend(), member(), task, store, scoring=Scoring(mode))
            for mode in ("letter", "continuation", "generate")}
    logs = sorted(p.name for p in (tmp_path / "store" / "runs" / "m").glob("*.jsonl"))
    assert logs == ["mixed.continuation.jsonl", "mixed.generate.jsonl", "mixed.jsonl"]
    assert rows["continuation"]["score"] == 0.0  # the shortest option, " 3", is the most likely here: wrong
    assert rows["generate"]["score"] == 2 / 3 and rows["generate"]["n_items"] == 3  # B right, Paris right, 42 not
    meta = json.loads((tmp_path / "store" / "runs" / "m" / "mixed.generate.meta.json").read_text())
    assert meta["scoring"] == "generate" and meta["generation"] == {"max_new_tokens": 48, "stop": ["\n\n"]}
    assert meta["task_sha"] == task.fingerprint
    record = json.loads((tmp_path / "store" / "runs" / "m" / "mixed.generate.jsonl").read_text().splitlines()[1])
    assert record["text"] == "Paris\n" and record["extracted"] == "Paris"
    again = ScriptedBackend()
    evaluate_run(again, member(), task, store, scoring=Scoring("continuation-norm"))
    assert again.forward_passes == 3  # nothing of the continuation run was reused
    hist = store.history_frame().set_index("task")
    assert hist.loc["mixed", "scoring"] == "continuation-norm"  # the latest run is the row
    assert store.stored_items().empty  # a user task's items live in its run logs only (no answer key to read)


def test_an_edited_task_file_is_not_scored_on_top_of_the_old_items(tmp_path):
    store = LocalStore(tmp_path / "store")
    evaluate_run(ScriptedBackend(), member(), mixed_task(tmp_path), store, scoring=Scoring("generate"))
    path = tmp_path / "mixed.jsonl"
    path.write_text(path.read_text().replace("Capital of France?", "Capital of Italy?"))
    with pytest.raises(SpiderError, match="task_sha"):
        evaluate_run(ScriptedBackend(), member(), load_task_file(path), store, scoring=Scoring("generate"))


# --- bad inputs: one line, exit 2, nothing written --------------------------------------------------
def refused(tmp_path, args, says):
    out = tmp_path / "out"
    result = runner.invoke(app, ["evaluate", "--zoo", "local", "--models", "smollm2-135m-instruct",
                                 "--output", str(out), *map(str, args)], env={"COLUMNS": "200", "HF_HUB_OFFLINE": "1",
                                                                              "HF_DATASETS_OFFLINE": "1"})
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(says, lines[0]), result.stderr
    assert not out.exists()


def test_bad_inputs_are_one_line_and_write_nothing(tmp_path):
    good = write(tmp_path / "free.jsonl", [{"question": "1 + 1?", "answer": "2"}])
    both = write(tmp_path / "both.jsonl", [{"question": "q", "choices": ["a", "b"], "answer": ["a"]}])
    refused(tmp_path, ["--task-file", both], r"both\.jsonl:1: an item has 'choices' or a list of accepted answers")
    refused(tmp_path, ["--task-file", good, "--extract", "middle"], r"unknown extraction 'middle'; extractions:")
    refused(tmp_path, ["--task-file", good, "--metric", "bleu"], r"unknown metric 'bleu'; metrics:")
    refused(tmp_path, ["--task-file", good, "--extract", "regex:(a"], r"extraction regex '\(a' does not compile")
    refused(tmp_path, ["--task-file", good, "--scoring", "letter"], r"no multiple-choice items .* scored by generate")
    refused(tmp_path, ["--task-file", good, "--scoring", "logits"], r"unknown scoring 'logits'")
    refused(tmp_path, ["--task", "hf:no-such-user/no-such-set:test"], r"hf:no-such-user/no-such-set:test: not in the "
            r"Hugging Face cache .*`hf download no-such-user/no-such-set --repo-type dataset")
    refused(tmp_path, ["--task", "hf:just-a-name"], r"write a dataset task as hf:<path>\[:<config>\]:<split>")


@pytest.mark.skipif(importlib.util.find_spec("lm_eval") is None and not os.environ.get("CI"),
                    reason="lm-evaluation-harness not installed (the [harness] extra); CI installs it")
def test_an_unknown_lm_eval_task_names_the_closest(tmp_path):
    refused(tmp_path, ["--task", "lm-eval:spider_ad", "--lm-eval-include", HARNESS_TASKS],
            r"unknown lm-eval task 'spider_ad'\. Did you mean: spider_add, spider_arith")
