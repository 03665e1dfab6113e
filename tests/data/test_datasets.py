"""The data layer: a data folder's tables, their cache, the Hub loaders' mapping, and the one-line
error when a data set is nowhere. Folders and Hub files here are written by the tests themselves, in
the sources' own layouts, with made-up content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from llm_spider import datasets
from llm_spider.datasets import hub

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def own_data(tmp_path, monkeypatch):
    """A private cache and no data folder; the real data folder is restored afterwards."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    datasets.set_data_dir(None)
    datasets.reset()
    yield tmp_path
    datasets.set_data_dir(None)
    datasets.reset()


def write_folder(root: Path, question: str = "Which colour is the sky on a clear day?") -> Path:
    """A data folder in ../shared/data's layout, with two MMLU subjects, one BBH task, one MC set
    and a two-model leaderboard."""
    for split in ("dev", "val", "test"):
        (root / "mmlu" / split).mkdir(parents=True)
        for subject in ("zoology", "astronomy"):
            pd.DataFrame([[f"{subject} {split}: {question}", "red", "blue", "green", "grey", "B"]]).to_csv(
                root / "mmlu" / split / f"{subject}_{split}.csv", header=False, index=False)
    (root / "bbh").mkdir()
    (root / "bbh" / "navigate.json").write_text(json.dumps(
        {"canary": "x", "examples": [{"input": "Step left, then right.\nOptions:\n- Yes\n- No", "target": "Yes"}]}))
    (root / "mc" / "arc-easy").mkdir(parents=True)
    (root / "mc" / "arc-easy" / "test.json").write_text(json.dumps(
        {"centerpiece": question, "options": ["red", "blue"], "correct_options": ["B"],
         "correct_options_idx": [1], "correct_options_literal": ["blue"]}) + "\n")
    (root / "leaderboard").mkdir()
    pd.DataFrame({"Model": ["m1", "m2"], "Family": ["f", "f"], "hendrycksTest-zoology": [0.5, 0.7]}).to_csv(
        root / "leaderboard" / "open_llm_leaderboard_skills.csv")  # with the unnamed row-number column
    return root


def test_folder_tables_are_read_in_the_internal_layout(own_data):
    datasets.set_data_dir(write_folder(own_data / "data"))
    mmlu = datasets.load("mmlu")
    assert list(mmlu.columns) == ["subject", "split", "question", "A", "B", "C", "D", "answer"]
    assert list(mmlu["split"]) == ["dev", "dev", "val", "val", "test", "test"]  # dev, val, test; subjects sorted
    assert list(mmlu["subject"][:2]) == ["astronomy", "zoology"] and set(mmlu["answer"]) == {"B"}
    assert datasets.load("bbh").iloc[0].to_dict() == {"task": "navigate", "input": "Step left, then right.\nOptions:\n- Yes\n- No",
                                                      "target": "Yes"}
    mc = datasets.load("mc/arc-easy")
    assert mc.iloc[0]["answer"] == 1 and list(mc.iloc[0]["options"]) == ["red", "blue"] and mc.iloc[0]["split"] == "test"
    board = datasets.load("leaderboard")
    assert list(board.columns) == ["Model", "Family", "hendrycksTest-zoology"]  # row numbers dropped
    meta = datasets.info("leaderboard")
    assert meta["source"] == "folder" and meta["path"] == str(own_data / "data") and meta["rows"] == 2


def test_the_cache_is_read_the_second_time_and_a_changed_source_is_converted_again(own_data, monkeypatch):
    root = write_folder(own_data / "data")
    datasets.set_data_dir(root)
    first = datasets.info("mmlu")
    cached = list(datasets.cache_root().glob("mmlu-*.parquet"))
    assert len(cached) == 1 and first["source_sha"].startswith(cached[0].stem.split("-")[-1])
    datasets.reset()  # a new run: the converted table comes from the cache, not the readers
    with monkeypatch.context() as m:
        m.setitem(datasets.TABLES, "mmlu", replace(datasets.TABLES["mmlu"], read=lambda files: pytest.fail("converted again")))
        assert datasets.info("mmlu")["content_sha"] == first["content_sha"]
    write_folder(own_data / "data2", question="Which colour is grass?")
    (root / "mmlu" / "test" / "zoology_test.csv").write_text(
        (own_data / "data2" / "mmlu" / "test" / "zoology_test.csv").read_text())
    datasets.reset()
    again = datasets.info("mmlu")
    assert again["source_sha"] != first["source_sha"] and again["content_sha"] != first["content_sha"]
    assert "grass" in datasets.load("mmlu").iloc[-1]["question"]
    assert len(list(datasets.cache_root().glob("mmlu-*.parquet"))) == 1  # the stale one went


def test_content_hash_ignores_the_format_and_sees_the_values():
    a = pd.DataFrame({"x": [0.1, float("nan")], "s": ["a", "b"], "l": [["p", "q"], ["r"]]})
    b = a.assign(l=[pd.array(["p", "q"]).to_numpy(), pd.array(["r"]).to_numpy()])
    assert datasets.frame_sha(a) == datasets.frame_sha(b)
    assert datasets.frame_sha(a) != datasets.frame_sha(a.assign(x=[0.1, 0.2]))


def test_a_missing_data_set_is_one_line_naming_it_the_variable_and_the_docs(own_data, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(datasets.DataMissingError) as err:
        datasets.load("mmlu")
    msg = str(err.value)
    assert "\n" not in msg and "'mmlu'" in msg and "LLM_SPIDER_DATA" in msg and "docs/data.md" in msg
    datasets.set_data_dir(write_folder(own_data / "data"))  # a folder without the table: named in the message
    with pytest.raises(datasets.DataMissingError, match=r"data folder .* has no mmlu_pro/questions.jsonl.gz"):
        datasets.load("mmlu_pro/questions")
    with pytest.raises(datasets.DataMissingError, match="no Hugging Face Hub loader"):
        datasets.load("mmlu_pro/results")
    datasets.set_data_dir(own_data / "nowhere")
    with pytest.raises(datasets.DataMissingError, match="does not exist"):
        datasets.load("mmlu")


def test_without_data_rank_exits_2_with_the_layers_line_and_writes_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != datasets.ENV_VAR}
    env.update(HF_HUB_OFFLINE="1", XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_DATA_HOME=str(tmp_path / "home"))
    run = subprocess.run([sys.executable, "-m", "llm_spider", "rank", "--task", "mmlu_subset"], env=env,
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 2, run.stderr
    lines = [l for l in run.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: data set 'mmlu' not found"), run.stderr
    assert "LLM_SPIDER_DATA" in lines[0] and "docs/data.md" in lines[0] and not run.stdout
    assert not (tmp_path / "home").exists() and not list(tmp_path.glob("cache/**/*.parquet"))
    bad = subprocess.run([sys.executable, "-m", "llm_spider", "tasks", "list", "--data-dir", str(tmp_path / "no")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "does not exist" in bad.stderr


# --- the Hub loaders, on files in the Hub datasets' own layouts ----------------------------------------
def _parquet_fetch(files: dict):
    """``datasets.load_dataset`` for Hub ids, answered from local parquet files keyed by (repo, config, split)."""
    import datasets as hf

    def fetch(repo, config=None, split=None):
        return hf.load_dataset("parquet", data_files={split: str(files[(repo, config, split)])}, split=split)

    return fetch


def test_mmlu_from_cais_mmlu_layout(tmp_path):
    import datasets as hf

    features = hf.Features({"question": hf.Value("string"), "subject": hf.Value("string"),
                            "choices": hf.Sequence(hf.Value("string")),
                            "answer": hf.ClassLabel(names=["A", "B", "C", "D"])})
    files = {}
    for split in ("dev", "validation", "test"):
        ds = hf.Dataset.from_dict({"question": [f"z1 {split}", f"a1 {split}", f"z2 {split}"],
                                   "subject": ["zoology", "astronomy", "zoology"],
                                   "choices": [["w", "x", "y", "z"]] * 3, "answer": [3, 0, 1]}, features=features)
        files[("cais/mmlu", "all", split)] = tmp_path / f"{split}.parquet"
        ds.to_parquet(files[("cais/mmlu", "all", split)])
    df = hub.mmlu(fetch=_parquet_fetch(files))
    assert list(df.columns) == ["subject", "split", "question", "A", "B", "C", "D", "answer"]
    assert list(df["split"].unique()) == ["dev", "val", "test"]
    test = df[df["split"] == "test"]
    assert list(test["question"]) == ["a1 test", "z1 test", "z2 test"]  # by subject, original order within
    assert list(test["answer"]) == ["A", "D", "B"] and list(test.iloc[0][["A", "B", "C", "D"]]) == ["w", "x", "y", "z"]


def test_bbh_and_mmlu_pro_from_their_hub_layouts(tmp_path):
    import datasets as hf

    files = {}
    for task in ("navigate", "snarks"):
        files[("lukaemon/bbh", task, "test")] = tmp_path / f"{task}.parquet"
        hf.Dataset.from_dict({"input": [f"{task} question"], "target": ["Yes"]}).to_parquet(files[("lukaemon/bbh", task, "test")])
    df = hub.bbh(("snarks", "navigate"), fetch=_parquet_fetch(files))
    assert df.to_dict("records") == [{"task": "navigate", "input": "navigate question", "target": "Yes"},
                                     {"task": "snarks", "input": "snarks question", "target": "Yes"}]
    files[("TIGER-Lab/MMLU-Pro", None, "test")] = tmp_path / "pro.parquet"
    hf.Dataset.from_dict({"question_id": [7], "question": ["Q?"], "options": [["a", "b", "c"]], "answer": ["C"],
                          "answer_index": [2], "cot_content": ["because"], "category": ["law"],
                          "src": ["ori_mmlu-jurisprudence"]}).to_parquet(files[("TIGER-Lab/MMLU-Pro", None, "test")])
    pro = hub.mmlu_pro_questions(fetch=_parquet_fetch(files))
    assert list(pro.columns) == ["question_id", "category", "src", "question", "options", "answer", "answer_index"]
    assert pro.iloc[0]["options"] == ["a", "b", "c"] and pro.iloc[0]["answer_index"] == 2


def test_multiple_choice_sets_from_the_labelled_choices_layout(tmp_path):
    import datasets as hf

    files = {}
    for split, rows in (("validation", [("Which is a gas?", ["iron", "air"], ["A", "B"], "B")]),
                        ("test", [("Which melts ice?", ["heat", "cold", "dark"], ["1", "2", "3"], "1"),
                                  ("No key here?", ["x", "y"], ["A", "B"], "")])):
        files[("allenai/ai2_arc", "ARC-Easy", split)] = tmp_path / f"arc-{split}.parquet"
        hf.Dataset.from_dict({"id": [f"q{i}" for i in range(len(rows))], "question": [r[0] for r in rows],
                              "choices": [{"text": r[1], "label": r[2]} for r in rows],
                              "answerKey": [r[3] for r in rows]}).to_parquet(files[("allenai/ai2_arc", "ARC-Easy", split)])
    df = hub.mc("arc-easy", fetch=_parquet_fetch(files))
    assert list(df.columns) == ["task", "split", "question", "options", "answer"]
    assert df[["split", "question", "answer"]].values.tolist() == [["dev", "Which is a gas?", 1],
                                                                  ["test", "Which melts ice?", 0]]  # keyless row dropped
    assert df.iloc[1]["options"] == ["heat", "cold", "dark"] and set(df["task"]) == {"arc-easy"}


def test_leaderboard_from_the_v1_result_files_and_the_v2_table(tmp_path):
    import datasets as hf

    runs = tmp_path / "v1"
    for name, when, mmlu, arc in (("org/old-7b", "2023-08-01T10-00-00", 0.4, 0.50),
                                  ("org/old-7b", "2023-09-01T10-00-00", 0.45, 0.55),  # a re-run replaces
                                  ("org/other", "2023-08-02T10-00-00", 0.3, 0.40)):
        folder = runs / name
        folder.mkdir(parents=True, exist_ok=True)
        results = {f"harness|hendrycksTest-{s}|5": {"acc": mmlu, "acc_norm": 0.0} for s in ("anatomy", "virology")}
        results.update({"harness|arc:challenge|25": {"acc": 0.0, "acc_norm": arc},
                        "harness|truthfulqa:mc|0": {"mc1": 0.2, "mc2": 0.35}, "all": {"acc": 0.0}})
        (folder / f"results_{when}.json").write_text(json.dumps(
            {"config_general": {"model_name": name}, "results": results, "versions": {}}))
    v2 = tmp_path / "contents.parquet"
    raw = {f"{b} Raw": [0.1 * (i + 1)] for i, b in enumerate(hub.V2_BENCHMARKS)}
    hf.Dataset.from_dict({"eval_name": ["org_old-7b_bfloat16"], "Precision": ["bfloat16"], "Model": ["<a>old-7b</a>"],
                          "fullname": ["org/old-7b"], "#Params (B)": [7], "Average ⬆️": [12.0],
                          **raw, **{b: [10.0] for b in hub.V2_BENCHMARKS}}).to_parquet(v2)
    df = hub.leaderboard(fetch=_parquet_fetch({("open-llm-leaderboard/contents", None, "train"): v2}),
                         download=lambda repo: runs)
    row = df.set_index("Model").loc["org/old-7b"]
    assert row["hendrycksTest-anatomy"] == 0.45 and row["ARC"] == 0.55 and row["TruthfulQA"] == 0.35
    assert row["MMLU"] == pytest.approx(0.45) and row["IFEval"] == pytest.approx(0.1) and row["#Params (B)"] == 7
    assert df.set_index("Model").loc["org/other", "ARC"] == 0.40 and pd.isna(df.set_index("Model").loc["org/other", "IFEval"])
    assert "all" not in df.columns and list(df.columns[:2]) == ["Model", "#Params (B)"]


def test_a_hub_table_is_fetched_once_then_read_from_the_cache(own_data, monkeypatch):
    import datasets as hf

    files = {}
    for task in datasets.BBH_TASKS:
        files[("lukaemon/bbh", task, "test")] = own_data / f"{task}.parquet"
        hf.Dataset.from_dict({"input": [f"{task}?"], "target": ["x"]}).to_parquet(files[("lukaemon/bbh", task, "test")])
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "unreachable", lambda: None)
    spec = datasets.TABLES["bbh"]
    monkeypatch.setitem(datasets.TABLES, "bbh", replace(spec, hub=partial(hub.bbh, datasets.BBH_TASKS,
                                                                          fetch=_parquet_fetch(files))))
    df = datasets.load("bbh")
    assert len(df) == 27 and datasets.info("bbh")["source"] == "hub" and datasets.info("bbh")["hub_id"] == "lukaemon/bbh"
    datasets.reset()  # a new run, offline: the conversion is read back, the Hub is not asked
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert datasets.load("bbh").equals(df)
    status = datasets.status().set_index("table")
    assert status.loc["bbh", "source"] == "hub (cached)" and status.loc["mmlu", "source"] == "missing"


def test_data_list_and_fetch_commands(own_data):
    from typer.testing import CliRunner

    from llm_spider.cli import app

    root = write_folder(own_data / "data")
    out = CliRunner().invoke(app, ["data", "list", "--data-dir", str(root), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {r["table"]: r for r in json.loads(out.stdout)}
    assert rows["mmlu"]["source"] == "folder" and rows["mc/piqa"]["source"] in ("missing", "hub (not fetched yet)")
    out = CliRunner().invoke(app, ["data", "fetch", "bbh", "mc/arc-easy", "--data-dir", str(root), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert [r["rows"] for r in json.loads(out.stdout)] == [1, 1]
    out = CliRunner().invoke(app, ["data", "fetch", "mmlu_por"])
    assert out.exit_code == 2 and "unknown data set 'mmlu_por'" in out.output
