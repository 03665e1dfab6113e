"""Selection on live models: items run through a backend into the run logs `evaluate` keeps, so a
killed selection resumes with nothing lost or run twice (a deterministic fake backend)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from llm_spider.selection import select_adaptive
from llm_spider.selection.live import LiveEvaluator
from llm_spider.tasks import get_task
from llm_spider.zoo.evaluate import LocalStore, evaluate_run, scoring_items
from tests.live.test_live import FakeBackend, fake_model

TASK = "bbh_boolean_expressions"
SKILL = {"strong": 0.85, "close": 0.8, "weak": 0.5}


def evaluator(store: LocalStore, fail_after: int | None = None) -> LiveEvaluator:
    answers = {it.prompt: it.answer for it in scoring_items(get_task(TASK))}
    models = [fake_model(m) for m in SKILL]
    return LiveEvaluator(models, lambda m: FakeBackend(SKILL[m.name], fail_after=fail_after, answers=answers),
                         store, backend="fake")


def logged(store: LocalStore) -> dict[str, list[int]]:
    return {m: [json.loads(line)["i"] for line in store.run_log(m, get_task(TASK), "fake").path.read_text().splitlines()]
            for m in SKILL if store.run_log(m, get_task(TASK), "fake").path.is_file()}


def test_a_killed_live_selection_resumes_to_the_same_pick_running_only_what_was_not_saved(tmp_path):
    prior = pd.Series({"strong": 0.7, "close": 0.72, "weak": 0.5})
    kwargs = dict(prior=prior, prior_strength=20, shift_var=0.01, seed=0)
    whole = evaluator(LocalStore(tmp_path / "a"))
    ref = select_adaptive(whole, TASK, **kwargs)
    assert ref.stopped == "confidence" and whole.forward_passes == ref.evaluations
    store = LocalStore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        select_adaptive(evaluator(store, fail_after=12), TASK, **kwargs)
    saved = sum(len(v) for v in logged(store).values())
    assert 0 < saved < ref.evaluations
    again = evaluator(store)
    res = select_adaptive(again, TASK, **kwargs)
    assert (res.pick, res.evaluations, dict(res.evaluated)) == (ref.pick, ref.evaluations, dict(ref.evaluated))
    assert again.forward_passes == ref.evaluations - saved  # the saved items were not run again
    for ids in logged(store).values():
        assert len(ids) == len(set(ids))  # no item logged twice


def test_evaluate_reuses_the_items_selection_scored(tmp_path):
    store = LocalStore(tmp_path)
    ev = evaluator(store)
    select_adaptive(ev, TASK, seed=1)
    have = len(logged(store)["strong"])
    answers = {it.prompt: it.answer for it in scoring_items(get_task(TASK))}
    backend = FakeBackend(SKILL["strong"], answers=answers)
    row = evaluate_run(backend, fake_model("strong"), get_task(TASK), store)
    assert backend.forward_passes == row["n_items"] - have
