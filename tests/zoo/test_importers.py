"""Importing lm-evaluation-harness and OpenCompass outputs (issue 22). Both fixture sets are real
outputs of the tools on three local-zoo models (tests/fixtures/*/make_fixtures.py; OpenCompass in
an environment of its own); the bad inputs are cut from them or written here in the same formats."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.zoo.recorded import recorded_dir

HARNESS = Path(__file__).resolve().parents[1] / "fixtures" / "harness" / "out"
OPENCOMPASS = Path(__file__).resolve().parents[1] / "fixtures" / "opencompass" / "out"
MODELS = ("gemma3-270m", "qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct")
TASKS = ("spider_add", "spider_arith", "spider_largest", "spider_letters")
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def printed(model: str) -> dict[str, float]:
    """lm-eval's own printed table: task → acc."""
    out, task = {}, None
    for line in (HARNESS / f"models__{model}" / "printed_table.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 7 and cells[0].startswith("spider_"):
            task = cells[0]
        if len(cells) >= 7 and cells[4] == "acc" and task:
            out[task] = float(cells[6])
    return out


@pytest.fixture()
def imported():
    result = invoke("zoo", "import", HARNESS, "--name", "harness", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def test_lm_eval_scores_match_its_own_outputs(imported):
    rows, report = imported
    assert {(r["model"], r["task"]) for r in rows} == {(m, t) for m in MODELS for t in TASKS}
    for model in MODELS:
        results = json.loads(next((HARNESS / f"models__{model}").glob("results_*.json")).read_text())["results"]
        table = printed(model)
        assert set(table) == set(TASKS)
        for r in (r for r in rows if r["model"] == model):
            assert r["score"] == pytest.approx(results[r["task"]]["acc,none"], abs=1e-6)
            assert round(r["score"], 4) == pytest.approx(table[r["task"]], abs=1e-9)  # the table prints 4 decimals
            assert r["metric"] == "acc,none" and r["n"] == 30
    assert report.count("items with per-option log-likelihoods") == 12
    history = (recorded_dir("harness") / "history.csv").read_text()
    assert "lm_eval_version" in history and "models/smollm2-135m-instruct" in history  # provenance kept


def test_the_imported_history_ranks_with_every_method(imported, tmp_path):
    from llm_spider.ranking import method_names

    for method in method_names():
        result = invoke("rank", "--task", "spider_arith", "--history", "harness", "--method", method,
                        "--cache-dir", tmp_path, "--format", "json")
        assert result.exit_code == 0, (method, result.output)
        rows = json.loads(result.stdout)
        assert {r["model"] for r in rows} == set(MODELS)
        assert all(r["true_score"] is not None for r in rows)  # the target's own scores were hidden, then shown
    spider = json.loads(invoke("rank", "--task", "spider_arith", "--history", "harness", "--cache-dir", tmp_path,
                               "--format", "json").stdout)
    assert spider[0]["model"] == "qwen2.5-coder-0.5b-instruct" and "predicted_accuracy" in spider[0]


def test_the_imported_items_drive_select_and_probe_features(imported):
    result = invoke("select", "--zoo", "harness", "--task", "spider_arith", "--prior", "flat", "--format", "json")
    assert result.exit_code == 0, result.output
    picked = json.loads(result.stdout)
    assert picked[0]["model"] == "qwen2.5-coder-0.5b-instruct"
    from llm_spider.ranking.probes import N_FEATURES, features_from_items
    from llm_spider.zoo.recorded import load_recorded

    zoo = load_recorded("harness")
    feats = features_from_items(zoo.items_frame(), zoo.members, "spider_arith", list(range(8)))
    assert set(feats) == set(MODELS) and all(f.shape == (8, N_FEATURES) for f in feats.values())
    samples = next((HARNESS / "models__gemma3-270m").glob("samples_spider_arith_*.jsonl")).read_text().splitlines()
    first = json.loads(samples[0])
    stored = zoo.items_frame().query("model == 'gemma3-270m' and task == 'spider_arith' and item == 0").iloc[0]
    assert list(stored["logprobs"]) == pytest.approx([float(r[0]) for r in first["filtered_resps"]])
    assert int(stored["answer"]) == int(first["target"])


# --- bad inputs: one line, exit 2, nothing written ---------------------------------------------------
def copy_run(tmp_path: Path, model: str = "gemma3-270m") -> Path:
    dst = tmp_path / "out" / model
    shutil.copytree(HARNESS / f"models__{model}", dst)
    return dst


def refused(paths, says: str):
    result = invoke("zoo", "import", *paths, "--name", "bad")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(says, lines[0]), result.stderr
    assert not recorded_dir("bad").exists()


def test_a_truncated_results_file(tmp_path):
    run = copy_run(tmp_path)
    results = next(run.glob("results_*.json"))
    results.write_text(results.read_text()[:500])
    refused([run], r"results_.*\.json:\d+: not valid JSON .*truncated")


def test_a_samples_file_for_a_task_absent_from_results(tmp_path):
    run = copy_run(tmp_path)
    sample = next(run.glob("samples_spider_add_*.jsonl"))
    sample.rename(sample.with_name(sample.name.replace("spider_add", "spider_missing")))
    refused([run], r"samples of task 'spider_missing', which results_.* has no score for")


def test_two_runs_of_the_same_model_and_task(tmp_path):
    copy_run(tmp_path)
    other = tmp_path / "again"
    shutil.copytree(HARNESS / "models__gemma3-270m", other)
    refused([tmp_path / "out", other], r"'gemma3-270m' on 'spider_\w+' was already imported from")


def test_a_non_numeric_metric(tmp_path):
    run = copy_run(tmp_path)
    results = next(run.glob("results_*.json"))
    data = json.loads(results.read_text())
    data["results"]["spider_arith"]["acc,none"] = "N/A"
    results.write_text(json.dumps(data))
    refused([run], r"'spider_arith' acc,none: metric value 'N/A' is not a number")


def test_a_truncated_samples_line(tmp_path):
    run = copy_run(tmp_path)
    sample = next(run.glob("samples_spider_add_*.jsonl"))
    sample.write_text(sample.read_text()[:-200])
    refused([run], r"samples_spider_add_.*\.jsonl:30: not valid JSON")


def test_nothing_to_import(tmp_path):
    (tmp_path / "empty").mkdir()
    refused([tmp_path / "empty"], "no lm-evaluation-harness results")


# --- OpenCompass -----------------------------------------------------------------------------------
def test_real_opencompass_runs_import_with_their_items(tmp_path):
    result = invoke("zoo", "import", OPENCOMPASS, "--name", "oc", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 6 and {r["tool"] for r in rows} == {"opencompass"}
    for r in rows:  # each run's summary CSV, in percent, divided by 100
        model = r["model"].removesuffix("_hf")
        summary = (OPENCOMPASS / f"summary_{model}_{r['task']}.csv").read_text().splitlines()[1]
        assert r["score"] == pytest.approx(float(summary.split(",")[-1]) / 100, abs=1e-9)
    from llm_spider.zoo.recorded import load_recorded

    zoo = load_recorded("oc")
    wide = zoo.history().wide()
    for r in rows:  # the items' own accuracy agrees with the summary (which rounds to 0.01 %)
        assert wide.loc[r["model"], r["task"]] == pytest.approx(r["score"], abs=5e-5)
    items = zoo.items_frame()
    assert len(items) == 6 * 30 and items["logprobs"].map(len).eq(4).all()
    result = invoke("select", "--zoo", "oc", "--task", "spider_letters", "--prior", "flat")
    assert result.exit_code == 0, result.output


# --- OpenCompass, bad inputs (in its formats) --------------------------------------------------------
def opencompass_files(root: Path) -> Path:
    root.mkdir()
    (root / "summary.csv").write_text("dataset,version,metric,mode,tiny-a,tiny-b\n"
                                      "demo_mc,abc123,accuracy,ppl,75.00,50.00\n"
                                      "demo_gen,def456,accuracy,gen,40.00,-\n")
    for model, golds in (("tiny-a", "ABA"), ("tiny-b", "ABB")):
        pred = root / "predictions" / model
        pred.mkdir(parents=True)
        records = {str(i): {"origin_prompt": f"Question {i}?", "prediction": "A",
                            "label: A": {"testing input": "", "prompt": "", "PPL": 1.5 + i},
                            "label: B": {"testing input": "", "prompt": "", "PPL": 3.0 + i}, "gold": g}
                   for i, g in enumerate(golds)}
        records["3"] = {"origin_prompt": "Question 3?", "prediction": "B", "label: A": {"PPL": 2.0},
                        "label: B": {"PPL": 1.0}, "gold": "B"}
        (pred / "demo_mc.json").write_text(json.dumps(records))
    return root


def test_opencompass_summary_and_predictions(tmp_path):
    root = opencompass_files(tmp_path / "oc")
    result = invoke("zoo", "import", root, "--name", "oc", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {(r["model"], r["task"]): r["score"] for r in json.loads(result.stdout)}
    assert rows == {("tiny-a", "demo_mc"): 0.75, ("tiny-b", "demo_mc"): 0.5, ("tiny-a", "demo_gen"): 0.4}
    assert "no score of 'tiny-b' on 'demo_gen'" in result.stderr
    from llm_spider.zoo.recorded import load_recorded

    zoo = load_recorded("oc")
    acc = zoo.history().wide()["demo_mc"]
    assert acc["tiny-a"] == pytest.approx(0.75) and acc["tiny-b"] == pytest.approx(0.5)  # items agree with the summary


def test_opencompass_bad_score_is_one_line(tmp_path):
    root = opencompass_files(tmp_path / "oc")
    (root / "summary.csv").write_text("dataset,version,metric,mode,tiny-a\ndemo_mc,abc,accuracy,ppl,high\n")
    refused([root / "summary.csv"], r"summary.csv:2: 'tiny-a' on 'demo_mc': metric value 'high' is not a number")


def test_opencompass_truncated_predictions(tmp_path):
    root = opencompass_files(tmp_path / "oc")
    pred = root / "predictions" / "tiny-a" / "demo_mc.json"
    pred.write_text(pred.read_text()[:120])
    refused([root], r"demo_mc.json:1: not valid JSON .*truncated")


def test_opencompass_predictions_without_a_summary_score(tmp_path):
    root = opencompass_files(tmp_path / "oc")
    shutil.copy(root / "predictions" / "tiny-a" / "demo_mc.json", root / "predictions" / "tiny-a" / "demo_other.json")
    refused([root], r"per-item results of 'tiny-a' on 'demo_other' have no score")


def test_opencompass_the_same_model_and_dataset_twice(tmp_path):
    root = opencompass_files(tmp_path / "oc")
    (root / "again.csv").write_text("dataset,version,metric,mode,tiny-a\ndemo_mc,abc123,accuracy,ppl,70.00\n")
    refused([root], r"'tiny-a' on 'demo_mc' was already imported from")
