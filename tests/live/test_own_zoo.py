"""A user's own zoo end to end on the CPU: two local folders, a LoRA adapter on one of them and a
Hugging Face id resolved from a cache built here, through `evaluate`, `compare` and `select`, from a
zoo file and from `zoo create` by name. The folders are the shipped members' converted weights."""

from __future__ import annotations

import importlib.util
import json

import numpy as np

import pytest
import yaml
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.paths import ZOO_DIR
from llm_spider.zoo.local import load_backend, load_zoo
from llm_spider.zoo.weights import prepare

ZOO = load_zoo("local")
SMOL, GEMMA = ZOO.get("smollm2-135m-instruct"), ZOO.get("gemma3-270m")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (SMOL.installed and GEMMA.installed) or importlib.util.find_spec("gguf") is None,
    reason="SmolLM2 and Gemma-3-270m not installed")]
runner = CliRunner()
ADAPTER = ZOO_DIR / "multisource" / "gemma3-270m+science"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def converted(model):
    """The member's converted folder (converting it once, as `evaluate` would)."""
    load_backend(model).close()
    return prepare(model).folder


def hf_cache(root, repo: str, folder):
    """The Hugging Face cache layout for ``repo`` at main, its files linked from ``folder``."""
    entry = root / "hub" / f"models--{repo.replace('/', '--')}"
    snap = entry / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(COMMIT)
    for f in folder.iterdir():
        (snap / f.name).symlink_to(f)


def test_a_zoo_of_folders_an_adapter_and_a_cached_hf_id_runs_evaluate_compare_and_select(tmp_path, monkeypatch):
    smol, gemma = converted(SMOL), converted(GEMMA)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hf_cache(tmp_path / "hf", "HuggingFaceTB/SmolLM2-135M-Instruct", smol)
    members = [{"name": "smol", "path": str(smol)}, {"name": "gem", "path": str(gemma)},
               {"name": "gem+science", "base": "gem", "adapter": str(ADAPTER)},
               {"name": "smol-hub", "hf": "HuggingFaceTB/SmolLM2-135M-Instruct"}]
    path = tmp_path / "zoo.yaml"
    path.write_text(yaml.safe_dump({"name": "own", "members": members}))

    r = runner.invoke(app, ["evaluate", "--zoo", str(path), "--task", "arc_easy", "--max-items", 24, "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = {row["model"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"smol", "gem", "gem+science", "smol-hub"}
    assert rows["smol"]["score"] == rows["smol-hub"]["score"]  # the same weights, found two ways
    assert rows["gem+science"]["weights"].startswith("path:") and rows["smol-hub"]["weights"].startswith("hf:")

    r = runner.invoke(app, ["compare", "--zoo", str(path), "--task", "arc_easy", "--probes", 4, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert "history rankers (spider, similar-tasks, leaderboard, ...) are left out" in r.output
    methods = {rec["method"] for rec in json.loads(r.stdout)}
    assert {"brute force", "brute force (probes)", "self-assessed (verbal)"} <= methods and "spider" not in methods

    r = runner.invoke(app, ["select", "--zoo", str(path), "--task", "arc_easy", "--budget", 60, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert "prior: flat for every member" in r.output
    picked = json.loads(r.stdout)
    assert {p["model"] for p in picked} == set(rows) and sum(p["evaluated"] for p in picked) <= 60

    spec = [",".join(f"{k}={v}" for k, v in m.items()) for m in members]
    r = runner.invoke(app, ["zoo", "create", "own2", *sum((["-m", s] for s in spec), [])])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["select", "--zoo", "own2", "--task", "arc_easy", "--budget", 60, "--models",
                            "smol,gem+science"])
    assert r.exit_code == 0 and "pick " in r.output, r.output


def test_an_instruct_member_scored_through_its_chat_template_is_another_measurement(tmp_path):
    from llm_spider.errors import SpiderError
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.evaluate import evaluated_items
    from llm_spider.zoo.weights import RunOptions
    from llm_spider.zoo.zoofile import load_any

    path = tmp_path / "zoo.yaml"
    path.write_text(yaml.safe_dump({"name": "chat", "members": [
        {"name": "smol-chat", "path": str(converted(SMOL)), "chat_template": True}]}))
    member = load_any(str(path)).models[0]
    prep = prepare(member)
    assert prep.label == "transformers-chat"  # logged apart from the plain prompts' runs
    with pytest.raises(SpiderError, match="chat_template is applied by the transformers backend"):
        prepare(member, RunOptions(backend="vllm"))
    backend = load_backend(member, prepared=prep)
    plain = load_backend(SMOL)
    its = list(evaluated_items(REGISTRY.get("arc_easy"), 4))
    chat = backend.option_logprobs([i.prompt for i in its], [i.options for i in its])
    base = plain.option_logprobs([i.prompt for i in its], [i.options for i in its])
    for a, b in zip(chat.logprobs, base.logprobs):
        assert abs(float(np.exp(a).sum()) - 1) < 1e-6 and not np.allclose(a, b, atol=1e-3)
    turn = backend.as_chat(["Q?"], [[" A", " B"]])
    assert "<|im_start|>assistant" in turn[0][0] and turn[1] == [["A", "B"]]
    backend.close()
    plain.close()
