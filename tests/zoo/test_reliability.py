"""The truth-reliability check: signal when members really differ, noise when they do not."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from llm_spider.errors import SpiderError
from llm_spider.zoo.reliability import Z_POWER, correctness, truth_reliability


def _items(p_correct: dict[str, float], n: int, task: str = "t", seed: int = 0) -> pd.DataFrame:
    """evaluate-style item rows: 2 options, the answer 0, right with probability p for each member."""
    rng = np.random.default_rng(seed)
    rows = []
    for m, p in p_correct.items():
        for i in range(n):
            right = rng.random() < p
            rows.append({"model": m, "task": task, "item": i, "answer": 0,
                         "logprobs": [-0.1, -2.0] if right else [-2.0, -0.1], "mass": -0.1})
    return pd.DataFrame(rows)


def test_correctness_is_the_argmax_option():
    c = correctness(_items({"a": 1.0, "b": 0.0}, 3))
    assert list(c.groupby("model")["correct"].sum()) == [3, 0]
    with pytest.raises(SpiderError, match="columns"):
        correctness(pd.DataFrame({"model": ["a"], "task": ["t"]}))


def test_real_gaps_are_reproducible_and_equal_members_are_not():
    spread = _items({"a": 0.9, "b": 0.7, "c": 0.5, "d": 0.3}, 400, "spread")
    same = _items({"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}, 400, "same", seed=1)
    per_task, s = truth_reliability(pd.concat([spread, same]), splits=50)
    r = per_task.set_index("task")
    assert r.loc["spread", "split_half_tau"] > 0.9 and r.loc["spread", "winner_settled"]
    assert abs(r.loc["same", "split_half_tau"]) < 0.5 and not r.loc["same", "winner_settled"]
    assert r.loc["spread", "bootstrap_tau"] > r.loc["same", "bootstrap_tau"]
    assert s.tasks == 2 and s.members == 4 and s.tasks_winner_unsettled == 1
    # the items a paired test needs, by hand: 0.9 vs 0.7 answered independently
    acc = correctness(spread).pivot_table(index="item", columns="model", values="correct")
    d = acc["a"] - acc["b"]
    assert r.loc["spread", "items_needed"] == pytest.approx(Z_POWER * d.var() / (acc["a"].mean() - acc["b"].mean()) ** 2)


def test_only_shared_items_count_and_members_can_be_chosen():
    rows = _items({"a": 0.9, "b": 0.1, "c": 0.5}, 20)
    rows = rows[~((rows["model"] == "c") & (rows["item"] >= 10))]  # c answered half the items only
    per_task, _ = truth_reliability(rows, splits=5)
    assert per_task.iloc[0]["items"] == 10
    per_task, s = truth_reliability(rows, models=["a", "b"], splits=5)
    assert per_task.iloc[0]["items"] == 20 and s.members == 2
    with pytest.raises(SpiderError, match="at least two members"):
        truth_reliability(rows, models=["a"])
    with pytest.raises(SpiderError, match="splits"):
        truth_reliability(rows, splits=0)


def test_a_tie_needs_infinitely_many_items_and_is_null_in_json(tmp_path):
    from typer.testing import CliRunner

    from llm_spider.cli import app
    from llm_spider.zoo.evaluate import LocalStore

    rows = _items({"smollm2-135m-instruct": 0.5, "smollm2-135m-instruct+medicine": 0.5}, 8)
    rows["logprobs"] = [[-0.1, -2.0]] * len(rows)  # both right on every item: a tie
    per_task, s = truth_reliability(rows, splits=3)
    assert per_task.iloc[0]["items_needed"] == float("inf") and s.median_items_needed == float("inf")

    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.zoofile import pypi_entries

    # The store keeps no answers: they are read from the task's data, so the tie is built on a real
    # task, both members picking its gold option on each of its first 8 items.
    task = "bbh_boolean_expressions"
    gold = [REGISTRY.get(task).items[i].answer for i in range(8)]
    stored = rows.assign(task=task, logprobs=[[-0.1, -2.0] if gold[i] == 0 else [-2.0, -0.1] for i in rows["item"]])
    base = pypi_entries("local")["smollm2-135m-instruct"]
    (tmp_path / "spec-dir").mkdir()
    (tmp_path / "zoo.json").write_text(json.dumps({"name": "mine", "models": [
        base, {"name": "smollm2-135m-instruct+medicine", "base": base["name"], "adapter": "spec-dir",
               "source": "medicine"}]}))
    store = LocalStore(tmp_path)
    stored.drop(columns="answer").to_parquet(tmp_path / "items.parquet", index=False)
    pd.DataFrame({"model": ["smollm2-135m-instruct", "smollm2-135m-instruct+medicine"], "task": [task, task],
                  "score": [1.0, 1.0]}).to_csv(tmp_path / "history.csv", index=False)
    assert len(store.items_frame()) == 16 and list(store.items_frame()["answer"][:8]) == gold
    out = CliRunner().invoke(app, ["zoo", "truth", "--zoo", str(tmp_path), "--reliability", "--splits", "3",
                                   "--format", "json"])
    assert out.exit_code == 0, out.output
    row = json.loads(out.stdout)[0]  # strict JSON: no Infinity
    assert row["items_needed"] is None and row["winner_settled"] is False and row["top2_gap"] == 0.0
    assert "too small to tell its two best members apart" in out.stderr.replace("\n", " ")
    both = CliRunner().invoke(app, ["zoo", "truth", "--zoo", str(tmp_path), "--reliability", "--diversity"])
    assert both.exit_code != 0 and "choose one" in both.output


def test_resampled_truths_weigh_composites_and_centre_on_the_truth():
    from llm_spider.zoo.reliability import resampled_truths

    rows = pd.concat([_items({"a": 1.0, "b": 0.0}, 30, "t1"), _items({"a": 0.0, "b": 1.0}, 30, "t2")])
    rng = np.random.default_rng(0)
    draws = resampled_truths(rows, {"t1": 3.0, "t2": 1.0}, ["a", "b"], 50, rng)
    assert draws.shape == (50, 2)
    np.testing.assert_allclose(draws, [[0.75, 0.25]] * 50)  # no spread within a task: every draw the same
    noisy = resampled_truths(_items({"a": 0.6, "b": 0.4}, 200, "t"), {"t": 1.0}, ["a", "b"], 400, rng)
    truth = correctness(_items({"a": 0.6, "b": 0.4}, 200, "t")).groupby("model")["correct"].mean()
    assert noisy.std(axis=0).min() > 0.01
    np.testing.assert_allclose(noisy.mean(axis=0), truth[["a", "b"]], atol=0.01)
    with pytest.raises(SpiderError, match="no per-item results"):
        resampled_truths(rows, {"t3": 1.0}, ["a", "b"], 5, rng)


def test_compare_note_says_when_the_truth_cannot_settle_the_winner():
    from llm_spider.zoo.reliability import reliability_note

    clear = _items({"a": 0.95, "b": 0.3}, 200, "clear")
    close = _items({"a": 0.5, "b": 0.49}, 100, "close", seed=3)
    rows = pd.concat([clear, close])
    assert reliability_note(rows, ["clear"], ["a", "b"]).startswith("ground truth: every task's items settle")
    note = reliability_note(rows, ["clear", "close"], ["a", "b"])
    assert "on 1 of 2 task(s) the items cannot settle" in note and "--reliability" in note
    assert reliability_note(rows, ["absent"], ["a", "b"]) is None
    assert reliability_note(rows, ["clear"], ["a"]) is None  # one member: nothing to order


def test_converted_rows_pass_through_and_give_the_same_answer():
    rows = _items({"a": 0.7, "b": 0.4}, 60)
    once = correctness(rows)
    assert list(correctness(once)["correct"]) == list(once["correct"])
    a, _ = truth_reliability(rows, splits=5, seed=1)
    b, _ = truth_reliability(once, splits=5, seed=1)
    pd.testing.assert_frame_equal(a, b)
