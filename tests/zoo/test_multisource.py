"""The shipped multi-source zoo: its members, adapters, training splits and ground truth hold together.

The adapters, `zoo.json` and the truth table are our own artifacts; these tests check what the
README claims of them (hashes, disjoint training data, the diversity of the zoo) and, where the
Gemma weights and peft are installed, that a shipped adapter reproduces the shipped truth.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json

import numpy as np
import pytest

from llm_spider.tasks import get_task
from llm_spider.zoo.diversity import diversity, truth_table
from llm_spider.zoo.evaluate import (
    LIVE_TASK_SET,
    MULTISOURCE_EXTRA_TASKS,
    LocalStore,
    evaluated_items,
)
from llm_spider.zoo.local import ZOO_DIR, load_backend, load_zoo
from llm_spider.zoo.sources import evaluated_hashes, question_hash, split_record
from llm_spider.zoo.specialists import ADAPTER_FILE

ZOO = load_zoo("multisource")
INDEX = {m["name"]: m for m in json.loads((ZOO_DIR / "multisource" / "zoo.json").read_text())["models"]}
SPECIALISTS = [m for m in ZOO.models if m.adapter]


def test_the_zoo_has_twelve_members_bases_and_their_specialists():
    assert len(ZOO.models) >= 12 and len(SPECIALISTS) >= 9
    bases = {m.name for m in ZOO.models if not m.adapter}
    assert {m.base for m in SPECIALISTS} <= bases and len({m.source for m in SPECIALISTS}) == 7
    assert ZOO.results_dir == ZOO_DIR / "multisource"


def test_shipped_adapters_match_their_recorded_hashes_and_recipes():
    for m in SPECIALISTS:
        rec = INDEX[m.name]
        digest = hashlib.sha256((ZOO_DIR / "multisource" / rec["adapter"] / ADAPTER_FILE).read_bytes()).hexdigest()
        assert digest == rec["adapter_sha256"], m.name
        assert rec["recipe"]["rank"] == 8 and rec["train_items"] == rec["recipe"]["steps"] * rec["recipe"]["batch_size"]
        assert np.isfinite(rec["loss_last10_mean"]) and rec["seconds"] > 0


def test_every_specialist_trained_on_the_recorded_split_disjoint_from_every_evaluated_question():
    evaluated = evaluated_hashes([get_task(t) for t in LIVE_TASK_SET])
    for source in {m.source for m in SPECIALISTS}:
        recorded = next(INDEX[m.name]["split"] for m in SPECIALISTS if m.source == source)
        assert split_record(source, evaluated) == recorded  # same questions, none of them evaluated


def test_the_extra_history_tasks_share_only_the_documented_questions_with_training():
    """MMLU repeats a few test questions in its validation split; for the extra history tasks (added
    after the specialists were trained) the overlap with what each specialist saw is recorded in
    zoo/evaluate.py and the README: exactly two public_relations questions, mmlu-social's."""
    from llm_spider.zoo.sources import source_task
    from llm_spider.zoo.specialists import training_items

    live = evaluated_hashes([get_task(t) for t in LIVE_TASK_SET])
    shared = {}
    for source in sorted({m.source for m in SPECIALISTS}):
        questions = source_task(source, live).items
        trained = {question_hash(questions[it.index].question) for it in training_items(source, live, 192, 0)}
        for t in MULTISOURCE_EXTRA_TASKS:
            n = len(trained & evaluated_hashes([get_task(t)]))
            if n:
                shared[(source, t)] = n
    assert shared == {("mmlu-social", "mmlu_public_relations"): 2}


def test_the_ground_truth_covers_the_zoo_and_is_diverse():
    hist = LocalStore(ZOO.results_dir).history_frame()
    table = truth_table(hist, [m.name for m in ZOO.models])
    assert sorted(table.index) == sorted(LIVE_TASK_SET + MULTISOURCE_EXTRA_TASKS)
    sizes = hist.groupby("task")["n_items"].unique()
    for t in LIVE_TASK_SET + MULTISOURCE_EXTRA_TASKS:
        assert list(sizes[t]) == [len(evaluated_items(get_task(t)))]  # every member: every item of the task
    _, summary = diversity(table)
    assert summary.share_not_won >= 1 / 3  # the bar: the best-mean member is not always best


GEMMA = load_zoo("local").get("gemma3-270m")


@pytest.mark.skipif(not GEMMA.installed or importlib.util.find_spec("peft") is None
                    or importlib.util.find_spec("gguf") is None,
                    reason="needs the Gemma-3-270m package and peft (pip install -e '.[local]')")
def test_a_shipped_specialist_reproduces_its_shipped_scores():
    spec = next(m for m in SPECIALISTS if m.base == GEMMA.name)
    task = get_task("bbh_snarks")
    items = list(evaluated_items(task, 100))[:4]
    stored = LocalStore(ZOO.results_dir).items_frame()
    stored = stored[(stored["model"] == spec.name) & (stored["task"] == task.name)].set_index("item")
    got = load_backend(spec, threads=2).option_logprobs([i.prompt for i in items], [i.options for i in items])
    for it, lp in zip(items, got.logprobs):
        np.testing.assert_allclose(lp, np.asarray(stored.loc[it.index, "logprobs"]), atol=2e-3)
    plain = load_backend(GEMMA, threads=2).option_logprobs([i.prompt for i in items], [i.options for i in items])
    assert max(np.abs(a - b).max() for a, b in zip(plain.logprobs, got.logprobs)) > 1e-2  # the adapter matters


@pytest.mark.skipif(not GEMMA.installed or importlib.util.find_spec("peft") is None
                    or importlib.util.find_spec("gguf") is None,
                    reason="needs the Gemma-3-270m package and peft (pip install -e '.[local]')")
def test_an_evaluate_run_reuses_the_shipped_zoo_items(tmp_path):
    from typer.testing import CliRunner

    from llm_spider.cli import app

    spec = next(m for m in SPECIALISTS if m.base == GEMMA.name)
    args = ["evaluate", "--zoo", "multisource", "--models", spec.name, "--task", "bbh_snarks", "--threads", "2",
            "--format", "json"]
    stored = LocalStore(ZOO.results_dir).items_frame()
    stored = stored[(stored["model"] == spec.name) & (stored["task"] == "bbh_snarks")].set_index("item")
    sample = [it.index for it in evaluated_items(get_task("bbh_snarks"), 100)]
    expected = np.mean([int(np.argmax(stored.loc[i, "logprobs"])) == int(stored.loc[i, "answer"]) for i in sample])
    same = CliRunner().invoke(app, [*args, "--max-items", "100", "--output", str(tmp_path / "a")])
    assert same.exit_code == 0, same.output
    row = json.loads(same.stdout)[0]
    assert "100 reused" in " ".join(same.output.split()) and row["score"] == pytest.approx(expected)
    again = CliRunner().invoke(app, [*args, "--max-items", "8", "--output", str(tmp_path / "b"), "--no-reuse"])
    assert again.exit_code == 0 and "reused" not in again.output
