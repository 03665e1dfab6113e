"""The newcomer's path (issue 21): each case a new user met, reproduced as it was seen. Every test
here failed on the code before its fix."""

from __future__ import annotations

import json

import pandas as pd
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
    assert "'mmlu_subset' is in the history the Spider checkpoint" in text and "its 10 tasks" in text
    assert "not a held-out prediction" in text


def test_the_encoding_note_counts_the_prompts_it_uses(tmp_path, cache_dir):
    task = tmp_path / "five.jsonl"
    task.write_text("".join(json.dumps({"question": f"What is {i} + {i}?", "choices": [str(2 * i), "0"],
                                        "answer": 0}) + "\n" for i in range(1, 6)))
    result = invoke("rank", "--task-file", task, "--cache-dir", cache_dir, "--top", 2)
    assert result.exit_code == 0, result.output
    assert "(5 prompt(s) each;" in result.stderr and "32 prompts" not in result.stderr


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
