"""Recorded zoos: importing per-item results, the history derived from them, partial members."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.errors import SpiderError
from llm_spider.zoo.recorded import import_items, load_recorded, recorded_dir

runner = CliRunner()


def write_zoo(tmp_path, bad_question: str | None = None, bad_result: str | None = None):
    """Two tasks of three questions; model c has no result on task y at all, model b misses one item of x."""
    qs = [{"question_id": f"q{i}", "subject": "x" if i < 3 else "y", "question": f"Q{i}?", "options": ["a", "b", "c"],
           "answer": "B"} for i in range(6)]
    lines = [json.dumps(q) for q in qs] + ([bad_question] if bad_question else [])
    (tmp_path / "q.jsonl").write_text("\n".join(lines) + "\n")
    rows = ["model,question_id,correct,pred"]
    outcomes = {"a": [1, 1, 0, 1, 1, 1], "b": [1, None, 0, 0, 0, 1], "c": [1, 1, 1, None, None, None]}
    for m, out in outcomes.items():
        rows += [f"{m},q{i},{v},B" for i, v in enumerate(out) if v is not None]
    rows += [bad_result] if bad_result else []
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "q.jsonl", tmp_path / "r.csv"


def test_import_gives_a_history_and_keeps_partial_members(tmp_path):
    q, r = write_zoo(tmp_path)
    zoo = import_items(q, r, "toy", ("subject",), min_items=3)
    wide = load_recorded("toy").history().wide()  # as read back from the store
    assert wide.loc["a", "x"] == pytest.approx(2 / 3) and wide.loc["a", "y"] == 1.0
    assert np.isnan(wide.loc["b", "x"])  # 2 of 3 items: under the 95 % coverage, left out of x ...
    assert wide.loc["b", "y"] == pytest.approx(1 / 3)  # ... but still a member on y
    assert wide.loc["c", "x"] == 1.0 and np.isnan(wide.loc["c", "y"])  # c never ran y
    assert ("b", "x", pytest.approx(2 / 3)) in [(m, t, c) for m, t, c in zoo.partial()]
    assert list(zoo.outcomes("b", ["q0", "q1", "q2"])[[0, 2]]) == [1.0, 0.0] and np.isnan(zoo.outcomes("b", ["q1"])[0])


@pytest.mark.parametrize("bad_question, bad_result, message", [
    ('{"question_id": "q9", "subject": "x", "options": ["a", "b"]}', None, "q.jsonl:7: missing field(s) question"),
    ('{"question_id": "q9", "subject": "x", "question": "?", "options": ["a"]}', None,
     "q.jsonl:7: options must be a list of at least two, or left out for a free-form item"),
    ('{"question_id": "q0", "subject": "x", "question": "?", "options": ["a", "b"], "answer": 0}', None, "q.jsonl:7: question_id 'q0' appears twice"),
    ('{"question_id": "q9", "subject": "x", "question": "?", "options": ["a", "b"], "answer": true}', None,
     "q.jsonl:7: answer must be a letter"),
    (None, "a,q0,1,B", "r.csv:16: a second result"),  # header = line 1, then 14 rows
    (None, "a,q77,1,B", "r.csv:16: question_id not in the questions file"),
    (None, "d,q0,maybe,B", "r.csv:16: correct must be 1/0"),
])
def test_a_bad_row_names_file_and_line_and_writes_nothing(tmp_path, bad_question, bad_result, message):
    q, r = write_zoo(tmp_path, bad_question, bad_result)
    with pytest.raises(SpiderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_items(q, r, "toy", ("subject",), root=tmp_path / "store")
    assert not (tmp_path / "store").exists() and not (tmp_path / "store.partial").exists()


def test_import_items_command_and_its_error(tmp_path):
    q, r = write_zoo(tmp_path)
    ok = runner.invoke(app, ["zoo", "import-items", "--questions", str(q), "--results", str(r), "--name", "toy",
                             "--task-field", "subject", "--min-items", "3", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)[0]["tasks"] == 2 and (recorded_dir("toy") / "items.parquet").is_file()
    assert "b on x (67%)" in ok.stderr.replace("\n", " ")
    assert load_recorded("toy").history().wide().shape == (3, 2)
    (tmp_path / "bad").mkdir()
    q2, r2 = write_zoo(tmp_path / "bad", None, "d,q0,maybe,B")
    bad = runner.invoke(app, ["zoo", "import-items", "--questions", str(q2), "--results", str(r2), "--name", "other",
                              "--task-field", "subject"])
    assert bad.exit_code == 2 and "r.csv:16: correct must be 1/0" in bad.output
    assert not recorded_dir("other").exists()


def test_mmlu_pro_by_name_at_both_levels():
    zoo = load_recorded("mmlu-pro")
    assert len(zoo.members) == 32 and len(zoo.tasks("category")) == 14 and len(zoo.tasks("src")) == 36
    wide = zoo.history("category").wide()
    assert set(wide.columns[wide.isna().any()]) == {"chemistry", "engineering"}  # DeepSeek-Coder-V2 lacks them
    assert wide.loc["DeepSeek-Coder-V2"].notna().sum() == 12
    assert wide.mean(axis=1).idxmax() == "gemini-3.1-pro"


def test_free_form_items_import_whole_and_select_runs_on_their_tasks(tmp_path):
    """Issue 34: a science benchmark mixing multiple-choice and numeric questions. A tenth of the
    questions have no options (and no answer to check against: the results' correct is the truth),
    and a few multiple-choice ones have several correct options or a number for an answer."""
    rng = np.random.default_rng(0)
    qs, rows = [], ["model,question_id,correct"]
    skill = {"strong": 0.8, "middle": 0.55, "weak": 0.3}
    for i in range(200):
        q = {"question_id": f"q{i}", "subject": "physics" if i % 2 else "chemistry", "question": f"Question {i}?"}
        if i % 10 == 3:
            q["answer"] = str(rng.integers(1, 100))  # free-form: no options
        else:
            q["options"] = ["a", "b", "c", "d"]
            q["answer"] = ["a", "c"] if i % 20 == 5 else "2.5" if i % 20 == 7 else "B"
        qs.append(q)
        rows += [f"{m},q{i},{int(rng.random() < p)}" for m, p in skill.items()]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    ok = runner.invoke(app, ["zoo", "import-items", "--questions", str(tmp_path / "q.jsonl"), "--results",
                             str(tmp_path / "r.csv"), "--name", "science", "--task-field", "subject", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.stdout)[0]
    assert summary["items"] == 200 and summary["free_form_items"] == 20 and summary["answer_not_one_option"] == 20
    zoo = load_recorded("science")
    assert len(zoo.tasks()["physics"]) == 100  # every question kept
    wide = zoo.history().wide()
    assert wide.loc["strong", "physics"] == pytest.approx(np.mean(zoo.outcomes("strong", zoo.tasks()["physics"])))
    picked = runner.invoke(app, ["select", "--zoo", "science", "--task", "physics", "--prior", "flat", "--format", "json"])
    assert picked.exit_code == 0, picked.output
    assert {r["model"] for r in json.loads(picked.stdout)} == set(skill)
