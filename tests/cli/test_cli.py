import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from llm_spider.benchmark import RECORD_FIELDS
from llm_spider.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_help_teaches():
    result = invoke("--help")
    assert result.exit_code == 0 and "rank" in result.output and "benchmark" in result.output
    result = invoke("rank", "--help")
    assert result.exit_code == 0 and "--task-file" in result.output


def test_tasks_list_json():
    result = invoke("tasks", "list", "--family", "bbh", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == 27 and all(r["family"] == "bbh" for r in rows)


def test_zoo_list_csv():
    result = invoke("zoo", "list", "--format", "csv")
    assert result.exit_code == 0
    assert len(result.stdout.strip().splitlines()) == 189  # header + 188 models


def test_rank_mmlu_subset_json_is_ordered_with_truth():
    result = invoke("rank", "--task", "mmlu_subset", "--method", "leaderboard", "--format", "json", "--raw")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) >= 100
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    for field in ("predicted_score", "predicted_accuracy"):  # one order: the accuracy is monotone in the score
        scores = [r[field] for r in rows]
        assert scores == sorted(scores, reverse=True)
    assert all(r["accuracy_low"] <= r["predicted_accuracy"] <= r["accuracy_high"] for r in rows)
    assert sum(r["true_score"] is not None for r in rows) == 149
    assert "hidden" in result.stderr


def test_rank_top_and_csv_and_model_subset():
    result = invoke("rank", "--task", "mmlu_anatomy", "--method", "leaderboard", "--top", "2",
                    "--models", "qwen2-72b,bloom-560m,meta-llama-3-70b", "--format", "csv")
    assert result.exit_code == 0, result.output
    df = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(df["model"]) == ["qwen2-72b", "meta-llama-3-70b"]


def test_rank_with_similar_tasks_on_a_task_file(tmp_path, small_history, cache_dir):
    task_file = tmp_path / "medical.jsonl"
    task_file.write_text("\n".join(json.dumps({"question": q, "choices": ["yes", "no"]}) for q in (
        "Is the femur the longest bone of the human body?", "Does influenza come from a virus?",
        "Is the heart a muscle?")) + "\n")
    result = invoke("rank", "--task-file", task_file, "--history", small_history, "--prompts", 2,
                    "--cache-dir", cache_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 30 and "true_score" not in rows[0]
    assert any(cache_dir.rglob("medical-*.safetensors"))


def test_unknown_task_exits_with_suggestions():
    result = invoke("rank", "--task", "mmlu_subst", "--method", "leaderboard")
    assert result.exit_code == 2
    assert "unknown task 'mmlu_subst'" in result.stderr and "mmlu_subset" in result.stderr


def test_unknown_model_and_method_exit_with_suggestions():
    result = invoke("rank", "--task", "mmlu_anatomy", "--method", "leaderboard", "--models", "qwen2-72bb")
    assert result.exit_code == 2 and "qwen2-72b" in result.stderr
    result = invoke("rank", "--task", "mmlu_anatomy", "--method", "similar")
    assert result.exit_code == 2 and "similar-tasks" in result.stderr


def test_task_and_task_file_are_exclusive():
    result = invoke("rank", "--method", "leaderboard")
    assert result.exit_code == 2 and "exactly one" in result.stderr


def test_malformed_task_file_names_line_and_writes_nothing(tmp_path, cache_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "fine?"}\n{"question": \n')
    result = invoke("rank", "--task-file", bad, "--cache-dir", cache_dir)
    assert result.exit_code == 2
    assert f"{bad}:2" in result.stderr
    assert not cache_dir.exists()


def test_empty_task_file(tmp_path, cache_dir):
    empty = tmp_path / "empty.csv"
    empty.write_text("question,choices,answer\n")
    result = invoke("rank", "--task-file", empty, "--cache-dir", cache_dir)
    assert result.exit_code == 2 and "empty.csv" in result.stderr and "no items" in result.stderr
    assert not cache_dir.exists()


@pytest.mark.slow  # over 20 s on 2 cores
def test_benchmark_on_a_users_table_is_reproducible(tmp_path, small_history, cache_dir):
    outputs = []
    for name in ("a.json", "b.json"):
        out = tmp_path / name
        result = invoke("benchmark", "llm", "--history", small_history, "--output", out, "--prompts", 2,
                        "--cache-dir", cache_dir, "--format", "json")
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(out.read_text()))
    summary = {(r["protocol"], r["method"]): r for r in json.loads(result.stdout)}
    assert summary[("loto-bbh", "spider")]["seeds"] == 5 and summary[("loto-bbh", "leaderboard")]["seeds"] == 1
    spider_taus = [r["weighted_tau"] for r in outputs[1] if r["method"] == "spider" and r["protocol"] == "loto-bbh"]
    assert summary[("loto-bbh", "spider")]["weighted_tau"] == pytest.approx(sum(spider_taus) / 5)
    records = outputs[0]
    assert {r["protocol"] for r in records} == {"loto-mmlu", "loto-bbh", "mmlu-to-bbh"}
    assert {r["method"] for r in records} == {"random", "leaderboard", "similar-tasks", "spider"}
    seeds = {(r["method"], r["seed"]) for r in records if r["protocol"] == "loto-mmlu"}
    assert {s for m, s in seeds if m == "spider"} == set(range(5))  # stochastic methods: 5 seeds
    assert {s for m, s in seeds if m == "leaderboard"} == {0}
    assert all(set(RECORD_FIELDS) <= set(r) for r in records)
    strip = lambda recs: [{k: v for k, v in r.items() if "seconds" not in k} for r in recs]  # noqa: E731
    assert strip(outputs[0]) == strip(outputs[1])
    by = {(r["protocol"], r["method"]): r for r in records}
    assert by[("loto-mmlu", "leaderboard")]["weighted_tau"] > by[("loto-mmlu", "random")]["weighted_tau"] - 1.0


def test_benchmark_failure_writes_nothing(tmp_path):
    out = tmp_path / "never.json"
    result = invoke("benchmark", "llm", "--method", "nope", "--output", out)
    assert result.exit_code == 2 and not out.exists()
    table = tmp_path / "other.csv"
    table.write_text("model,task,score\na,x,0.1\nb,x,0.2\n")
    result = invoke("benchmark", "llm", "--history", table, "--output", out, "--method", "leaderboard")
    assert result.exit_code == 2 and "loto-all" in result.stderr and not out.exists()


def test_benchmark_loto_all_on_a_plain_table(tmp_path):
    table = tmp_path / "plain.csv"
    rows = [(m, t, s) for t, base in (("x", 0.1), ("y", 0.2), ("z", 0.3))
            for m, s in (("a", base), ("b", base + 0.1), ("c", base + 0.2), ("d", base + 0.3))]
    pd.DataFrame(rows, columns=["model", "task", "score"]).to_csv(table, index=False)
    out = tmp_path / "r.json"
    plot = tmp_path / "plot.png"
    result = invoke("benchmark", "llm", "--history", table, "--protocol", "loto-all",
                    "--method", "leaderboard", "--method", "random", "--output", out, "--plot", plot)
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert len(records) == 1 + 5  # leaderboard once, random over 5 seeds
    record = records[0]
    assert record["protocol"] == "loto-all" and record["weighted_tau"] == pytest.approx(1.0)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rank_default_method_on_the_leaderboard_zoo(cache_dir):
    """The README's main job: the shipped Spider checkpoint, no training at rank time."""
    result = invoke("rank", "--task", "mmlu_subset", "--cache-dir", cache_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "ranked by spider" in result.stderr or "spider" in result.output
    assert "checkpoint" in result.stderr  # says what the checkpoint saw
    rows = json.loads(result.stdout)
    assert len(rows) >= 100
    assert "predicted_score" not in rows[0]  # standardised units only under --raw
    known = [(r["predicted_accuracy"], r["true_score"]) for r in rows if r["true_score"] is not None]
    from llm_spider.metrics import weighted_tau

    truth, pred = zip(*[(t, p) for p, t in known])
    assert weighted_tau(truth, pred) > 0.5  # a real prediction of the hidden scores, far above chance


def test_checkpoint_settings_are_enforced(cache_dir):
    result = invoke("rank", "--task", "mmlu_anatomy", "--prompts", 2, "--cache-dir", cache_dir)
    assert result.exit_code == 2 and "trained with --prompts 32" in result.stderr


def test_train_add_model_and_rank_with_own_checkpoint(tmp_path, small_history, cache_dir):
    ckpt = tmp_path / "ckpt"
    result = invoke("train", "--history", small_history, "--output", ckpt, "--prompts", 2, "--epochs", 4,
                    "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    assert (ckpt / "spider.safetensors").is_file() and (ckpt / "spider.json").is_file()
    assert result.stdout == "" and "checkpoint written to" in result.stderr  # notes on stderr (issue 21, case 8)

    scores = tmp_path / "newbie.csv"
    scores.write_text("task,score\nmmlu_anatomy,0.99\nmmlu_virology,0.99\nbbh_navigate,0.99\nhellaswag,0.5\n")
    extended = tmp_path / "extended"
    result = invoke("zoo", "add-model", "newbie", "--scores", scores, "--checkpoint", ckpt, "--output", extended,
                    "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    assert "hellaswag" in result.stderr  # ignored, and said so
    assert result.stdout == "" and "models written to" in result.stderr

    result = invoke("rank", "--task", "mmlu_marketing", "--checkpoint", extended, "--history", small_history,
                    "--cache-dir", cache_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 31 and rows[0]["model"] == "newbie"  # far above every real model on three tasks
    assert rows[0]["true_score"] is None

    # Without --checkpoint, `rank` picks up the user's own checkpoint (written to the XDG data home).
    result = invoke("zoo", "add-model", "newbie2", "--scores", scores, "--checkpoint", ckpt, "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    result = invoke("rank", "--task", "mmlu_marketing", "--models", "newbie2", "--cache-dir", cache_dir,
                    "--format", "json")
    assert result.exit_code == 0, result.output
    assert [r["model"] for r in json.loads(result.stdout)] == ["newbie2"]


def test_add_model_errors(tmp_path, cache_dir):
    few = tmp_path / "few.csv"
    few.write_text("task,score\nmmlu_anatomy,0.5\nmmlu_virology,0.4\n")
    result = invoke("zoo", "add-model", "x", "--scores", few, "--cache-dir", cache_dir)
    assert result.exit_code == 2 and "at least 3" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,acc\nmmlu_anatomy,0.5\n")
    result = invoke("zoo", "add-model", "x", "--scores", bad)
    assert result.exit_code == 2 and "task,score" in result.stderr
    nan = tmp_path / "nan.csv"
    nan.write_text("task,score\nmmlu_anatomy,0.5\nmmlu_virology,high\n")
    result = invoke("zoo", "add-model", "x", "--scores", nan)
    assert result.exit_code == 2 and "nan.csv:3" in result.stderr
    dup = tmp_path / "dup.csv"
    dup.write_text("task,score\nmmlu_anatomy,0.5\nmmlu_anatomy,0.4\nmmlu_virology,0.4\n")
    result = invoke("zoo", "add-model", "qwen2-72b", "--scores", dup)
    assert result.exit_code == 2 and "twice" in result.stderr


def test_a_tampered_checkpoint_is_refused(tmp_path):
    import shutil

    from llm_spider.paths import SHIPPED_CHECKPOINT

    ckpt = tmp_path / "ckpt"
    shutil.copytree(SHIPPED_CHECKPOINT, ckpt)
    cfg = json.loads((ckpt / "spider.json").read_text())
    cfg["models"][0] = "someone-else"
    (ckpt / "spider.json").write_text(json.dumps(cfg))
    result = invoke("rank", "--task", "mmlu_anatomy", "--checkpoint", ckpt)
    assert result.exit_code == 2 and "hash mismatch" in result.stderr


def test_rank_a_task_file_with_the_shipped_checkpoint(tmp_path, cache_dir):
    """A user's task with fewer items than the checkpoint's 32 prompts: every item is a prompt."""
    task_file = tmp_path / "algebra.jsonl"
    task_file.write_text("\n".join(json.dumps({"question": q, "choices": ["1", "2", "3", "4"], "answer": 1}) for q in (
        "What is x if 2x + 1 = 5?", "How many roots does x^2 - 4x + 4 have?", "What is 8 / 4?")) + "\n")
    result = invoke("rank", "--task-file", task_file, "--cache-dir", cache_dir, "--top", 5, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 5 and "true_score" not in rows[0]
    assert "checkpoint" not in result.stderr  # nothing of this task was in the history


def test_the_shipped_spider_records_the_data_folders_leaderboard():
    from llm_spider import datasets
    from llm_spider.paths import SHIPPED_CHECKPOINT
    from llm_spider.ranking.spider import SpiderRanker

    assert SpiderRanker.load(SHIPPED_CHECKPOINT).leaderboard_sha256_ == datasets.content_sha("leaderboard")


def test_another_leaderboard_table_gets_a_spider_of_its_own_once(tmp_path, cache_dir, monkeypatch):
    """A data folder may hold another leaderboard table than the shipped Spider's: rank trains one for
    it, once, into the user data dir, says so, and reuses it; the shipped table keeps the shipped Spider."""
    import importlib

    import pandas as pd

    from llm_spider import datasets
    from llm_spider.paths import SHIPPED_CHECKPOINT, data_matched_checkpoint_dir

    real = datasets.data_dir()
    other = tmp_path / "data"
    for part in ("mmlu", "bbh", "mc"):
        (other / part).parent.mkdir(parents=True, exist_ok=True)
        (other / part).symlink_to(real / part)
    board = pd.read_csv(real / "leaderboard" / "open_llm_leaderboard_skills.csv")
    subjects = ["anatomy", "virology", "marketing", "astronomy", "nutrition", "sociology"]
    cut = board[["Unnamed: 0", "Model", "Family", *(f"hendrycksTest-{s}" for s in subjects)]].dropna().iloc[:20]
    (other / "leaderboard").mkdir()
    cut.to_csv(other / "leaderboard" / "open_llm_leaderboard_skills.csv", index=False)

    result = invoke("rank", "--task", "mmlu_anatomy", "--data-dir", other, "--cache-dir", cache_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    sha = datasets.content_sha("leaderboard")
    path = data_matched_checkpoint_dir(sha)
    assert "training a Spider for it once" in result.stderr and (path / "spider.json").is_file()
    assert len(json.loads(result.stdout)) == 20 and str(path) in result.stderr.replace("\n", "")
    cli_app = importlib.import_module("llm_spider.api.llm")  # where the CLI trains a data-matched Spider
    monkeypatch.setattr(cli_app, "train_spider", lambda *a, **k: pytest.fail("trained a second time"))
    again = invoke("rank", "--task", "mmlu_anatomy", "--data-dir", other, "--cache-dir", cache_dir, "--format", "json")
    assert again.exit_code == 0 and "training" not in again.stderr and json.loads(again.stdout) == json.loads(result.stdout)
    datasets.set_data_dir(real)
    assert cli_app.load_spider(None, cache_dir, object())[1] == SHIPPED_CHECKPOINT
