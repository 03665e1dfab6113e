"""The item-level prior on a zoo a user imported: `benchmark select` runs every method the zoo can
serve and says which it left out; question vectors are cached by content."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from llm_spider.cli import app

runner = CliRunner()
TOPICS = {"arithmetic": "What is {a} plus {b}?", "geography": "Which river flows through city number {a}?",
          "chemistry": "How many protons does element {a} have in isotope {b}?"}


def imported_zoo(tmp_path, n: int = 40):
    """Our own toy questions (three tasks) and results of four members, without a pred column."""
    rng = np.random.default_rng(0)
    questions, results = [], []
    acc = {"alpha": (0.9, 0.5, 0.5), "beta": (0.5, 0.9, 0.5), "gamma": (0.6, 0.6, 0.6), "delta": (0.3, 0.3, 0.3)}
    for k, (topic, text) in enumerate(TOPICS.items()):
        for i in range(n):
            qid = f"{topic}-{i}"
            questions.append({"question_id": qid, "task": topic, "question": text.format(a=i, b=2 * i + 1),
                              "options": ["one", "two", "three", "four"], "answer": "A"})
            results += [{"model": m, "question_id": qid, "correct": int(rng.random() < a[k])} for m, a in acc.items()]
    q, r = tmp_path / "q.jsonl", tmp_path / "r.csv"
    q.write_text("".join(json.dumps(x) + "\n" for x in questions))
    pd.DataFrame(results).to_csv(r, index=False)
    ok = runner.invoke(app, ["zoo", "import-items", "--questions", str(q), "--results", str(r), "--name", "mine",
                             "--min-items", "10"])
    assert ok.exit_code == 0, ok.output


@pytest.mark.slow
def test_benchmark_select_on_an_imported_zoo_leaves_out_what_it_cannot_serve(tmp_path):
    imported_zoo(tmp_path)
    out = tmp_path / "records.json"
    result = runner.invoke(app, ["benchmark", "select", "--zoo", "mine", "-m", "adaptive-label-free", "-m", "items",
                                 "-m", "leaderboard", "-m", "adaptive-items", "-m", "adaptive-auto", "--output",
                                 str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "adaptive-label-free left out" in result.stderr and "'pred'" in result.stderr
    records = json.loads(out.read_text())
    assert {r["method"] for r in records} == {"items", "leaderboard", "adaptive-items", "adaptive-auto"}
    assert {r["task"] for r in records} == set(TOPICS)
    # with only label-free asked for, nothing can run: one line, exit 2, nothing written
    none = runner.invoke(app, ["benchmark", "select", "--zoo", "mine", "-m", "adaptive-label-free", "--output",
                               str(tmp_path / "none.json")])
    assert none.exit_code == 2 and not (tmp_path / "none.json").exists()


def test_question_vectors_are_cached_by_content(tmp_path):
    from llm_spider.encoders.items import ItemEncoder

    class Counting:
        name = "counting"

        def __init__(self):
            self.seen = 0

        def encode(self, texts):
            self.seen += len(texts)
            return np.array([[len(t), t.count("a")] for t in texts], dtype=np.float32)

    enc = Counting()
    items = ItemEncoder(enc, cache_dir=tmp_path)
    first = items.encode(["a cat", "a bat"])
    assert enc.seen == 2 and items.is_cached(["a cat", "a bat"])
    assert np.array_equal(items.encode(["a cat", "a bat"]), first) and enc.seen == 2  # read, not encoded
    items.encode(["a cat", "a hat"])  # one question changed: encoded afresh
    assert enc.seen == 4 and not items.is_cached(["a hat", "a cat"])  # the order is part of the key
