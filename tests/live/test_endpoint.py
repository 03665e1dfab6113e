"""The OpenAI-compatible backend against a local server that produces the faults on demand: retries,
partial batches, usage, the generated-letter measurement, keys, and a run that resumes without
paying for an item twice. (Agreement with real log-probabilities: tests/live/test_vllm_server.py.)"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import yaml
from stub_server import Stub, letter_logprob
from typer.testing import CliRunner

from llm_spider.backends.base import PartialBatch
from llm_spider.tasks.scoring import chosen_option
from llm_spider.backends.openai import OpenAIBackend, probe
from llm_spider.cli import app
from llm_spider.errors import SpiderError
from llm_spider.tasks import REGISTRY
from llm_spider.zoo.evaluate import evaluated_items
from llm_spider.zoo.members import LocalModel

runner = CliRunner()
TASK = "bbh_boolean_expressions"


def member(url: str, **options) -> LocalModel:
    env = options.pop("api_key_env", "")
    return LocalModel("served", "served", 0.0, True, (), "", (), "", kind="endpoint", location=url,
                      served_model="stub-model", api_key_env=env, options=options)


def items(n: int):
    return list(evaluated_items(REGISTRY.get(TASK), n))


def test_logprobs_are_read_per_option_normalised_and_survive_429_500_and_a_dropped_connection():
    with Stub() as stub:
        stub.faults = ["429", "500", "drop"]
        b = OpenAIBackend(member(stub.url, max_retries=4), {"scoring": "logprobs", "concurrency": 1},
                          sleep=lambda s: None)
        its = items(3)
        out = b.option_logprobs([i.prompt for i in its], [i.options for i in its])
    for it, lp, mass, extra in zip(its, out.logprobs, out.option_mass, out.extra):
        full = np.array([letter_logprob(it.prompt + o) for o in it.options])
        np.testing.assert_allclose(lp, full - np.logaddexp.reduce(full), atol=1e-9)
        assert mass == pytest.approx(np.logaddexp.reduce(full))
        assert extra["usage"] == {"prompt_tokens": 10 * len(it.options), "completion_tokens": len(it.options)}
    assert b.forward_passes == 3


def test_a_fault_past_the_retries_keeps_the_finished_items():
    with Stub() as stub:
        b = OpenAIBackend(member(stub.url, max_retries=1), {"scoring": "logprobs", "concurrency": 1},
                          sleep=lambda s: None)
        its = items(3)
        stub.faults = [None, "500", "500"]  # the first item answers, the second fails twice
        with pytest.raises(PartialBatch) as exc:
            b.option_logprobs([i.prompt for i in its], [i.options for i in its])
    assert 0 in exc.value.done and 1 not in exc.value.done
    assert "HTTP 500 on /completions, 2 tries" in str(exc.value.error)


def test_a_slow_reply_past_the_timeout_is_retried_then_fails_in_one_line():
    with Stub() as stub:
        stub.always = "slow"
        b = OpenAIBackend(member(stub.url, max_retries=1, timeout=0.3), {"scoring": "logprobs", "timeout": 0.3,
                                                                          "max_retries": 1}, sleep=lambda s: None)
        with pytest.raises(PartialBatch) as exc:
            b.option_logprobs([items(1)[0].prompt], [items(1)[0].options])
    assert "no answer within 0 s" in str(exc.value.error) or "no answer within" in str(exc.value.error)


def test_generated_letters_are_the_choice_and_a_reply_without_one_counts_as_wrong():
    replies = iter(["The answer is (B).", "I am not sure."])
    with Stub(chat_reply=lambda p: next(replies)) as stub:
        b = OpenAIBackend(member(stub.url), {"scoring": "generate", "concurrency": 1})
        its = items(2)
        out = b.option_logprobs([i.prompt for i in its], [i.options for i in its])
    assert chosen_option(out.logprobs[0]) == 1 and np.isnan(out.logprobs[0][0])
    assert chosen_option(out.logprobs[1]) == -1  # never equal to an answer
    assert out.extra[0]["generated"] == "The answer is (B)." and out.extra[1]["usage"]["completion_tokens"] == 3


def test_probe_picks_logprobs_where_echo_works_and_generate_where_completions_are_missing():
    with Stub() as stub:
        assert probe(member(stub.url), {}) == "logprobs"
        stub.always = "404"
        assert probe(member(stub.url), {}) == "generate"


def test_probe_refuses_a_model_the_server_does_not_serve():
    with Stub() as stub:
        m = member(stub.url)
        m = LocalModel(**{**m.__dict__, "served_model": "other"})
        with pytest.raises(SpiderError, match="does not serve model 'other'; it serves stub-model"):
            probe(m, {})


# --- through the command line ----------------------------------------------------------------------
def zoo_file(tmp_path, url: str, **extra) -> str:
    m = {"name": "served", "endpoint": url, "model": "stub-model", **extra}
    path = tmp_path / "zoo.yaml"
    path.write_text(yaml.safe_dump({"name": "served-zoo", "members": [m]}))
    return str(path)


def files_under(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_evaluate_killed_by_server_faults_resumes_without_asking_any_item_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("STUB_KEY", "sk-secret-123")
    with Stub(key="sk-secret-123") as stub:
        path = zoo_file(tmp_path, stub.url, api_key_env="STUB_KEY", max_retries=1, concurrency=2)
        stub.faults = [None] * 13 + ["500"] * 50  # the probe + 12 items answer, then the server fails
        r = runner.invoke(app, ["evaluate", "--zoo", path, "--task", TASK, "--max-items", 24, "--batch-size", 4])
        assert r.exit_code == 2 and "HTTP 500" in r.output, r.output
        stub.faults = []
        r = runner.invoke(app, ["evaluate", "--zoo", path, "--task", TASK, "--max-items", 24, "--batch-size", 4,
                                "--format", "json"])
        assert r.exit_code == 0, r.output
        answered = dict(stub.answered)
    assert answered.pop("Answer: A") == 2  # each run's one-token check of the server
    assert max(answered.values()) == 1  # every (item, option) prompt paid once, across both runs
    assert len(answered) == 24 * 2  # 24 items × 2 options
    row = json.loads(r.stdout)[0]
    assert row["backend"] == "openai-logprobs" and row["n_items"] == 24
    assert row["prompt_tokens"] == 24 * 2 * 10 and row["completion_tokens"] == 24 * 2
    logs = [p for p in files_under(tmp_path / "_env") if p.suffix == ".jsonl"]
    recs = [json.loads(line) for p in logs for line in p.read_text().splitlines() if line.strip()]
    recs = [r for r in recs if "i" in r]
    assert len(recs) == 24 == len({r["i"] for r in recs}) and all(r["usage"]["prompt_tokens"] == 20 for r in recs)
    for p in files_under(tmp_path):  # the key is read from the environment, never written
        assert b"sk-secret-123" not in p.read_bytes(), p


def test_select_on_a_served_member_reports_usage_and_says_generated_answers_are_another_measurement(tmp_path):
    with Stub(chat_reply=lambda p: "B") as stub:
        local = {"name": "other", "endpoint": stub.url, "model": "stub-model", "scoring": "logprobs"}
        path = tmp_path / "zoo.yaml"
        path.write_text(yaml.safe_dump({"name": "mix", "members": [
            {"name": "served", "endpoint": stub.url, "model": "stub-model", "scoring": "generate"}, local]}))
        r = runner.invoke(app, ["select", "--zoo", str(path), "--task", TASK, "--budget", 16])
    assert r.exit_code == 0, r.output
    assert "served: openai-generate — the generated answer's letter, not log-probabilities" in r.output
    assert "prior: flat for every member" in r.output
    assert "completion tokens served" in r.output


def test_report_on_a_served_zoo_states_the_tokens(tmp_path):
    with Stub() as stub:
        path = tmp_path / "zoo.yaml"
        path.write_text(yaml.safe_dump({"name": "two", "members": [
            {"name": n, "endpoint": stub.url, "model": "stub-model"} for n in ("a", "b")]}))
        page = tmp_path / "r.html"
        r = runner.invoke(app, ["report", "--zoo", str(path), "--task", TASK, "--budget", 8, "--output", str(page)])
    assert r.exit_code == 0, r.output
    html = page.read_text()
    assert "160 prompt and 16 completion tokens, as their servers counted them" in html  # 8 items × 2 options
    assert "<strong>a</strong>" in html or "<strong>b</strong>" in html


def test_compare_refuses_a_member_that_only_generates_before_any_probe(tmp_path):
    with Stub() as stub:
        path = zoo_file(tmp_path, stub.url, scoring="generate")
        r = runner.invoke(app, ["compare", "--zoo", path, "--task", TASK])
        assert stub.answered == {}
    assert r.exit_code == 2 and "gives generated answers only" in r.output, r.output


@pytest.mark.parametrize("case", ["refused", "no-key", "bad-key"])
def test_an_unusable_endpoint_is_one_line_before_anything_is_written(tmp_path, monkeypatch, case):
    monkeypatch.delenv("STUB_KEY", raising=False)
    with Stub(key="right") as stub:
        url = stub.url
        if case == "refused":
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"  # nothing listens there once closed
        if case != "no-key":
            monkeypatch.setenv("STUB_KEY", "right" if case == "refused" else "wrong")
        path = zoo_file(tmp_path, url, api_key_env="STUB_KEY")
        before = files_under(tmp_path / "_env")
        r = runner.invoke(app, ["select", "--zoo", path, "--task", TASK, "--budget", 8])
    assert r.exit_code == 2, r.output
    lines = [x for x in r.output.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, r.output
    assert {"refused": "cannot connect", "no-key": "STUB_KEY is not set", "bad-key": "key was refused"}[case] in lines[0]
    assert files_under(tmp_path / "_env") == before


def test_a_zoo_without_results_takes_its_prior_from_mapped_leaderboard_rows_and_says_so(tmp_path):
    with Stub() as stub:
        members = [{"name": n, "endpoint": stub.url, "model": "stub-model", "leaderboard_name": row}
                   for n, row in (("small", "qwen2-0.5b"), ("big", "gemma-7b"))] + [
                   {"name": "unmapped", "endpoint": stub.url, "model": "stub-model"}]
        path = tmp_path / "zoo.yaml"
        path.write_text(yaml.safe_dump({"name": "mapped", "members": members}))
        r = runner.invoke(app, ["select", "--zoo", str(path), "--task", TASK, "--budget", 8, "--format", "json"])
        assert r.exit_code == 0, r.output
        assert ("prior: leaderboard estimate from mapped rows: small = qwen2-0.5b in the Open LLM Leaderboard; "
                "big = gemma-7b in the Open LLM Leaderboard; flat for unmapped") in " ".join(r.output.split())
        members[0]["leaderboard_name"] = "qwen2-0.5bb"
        path.write_text(yaml.safe_dump({"name": "mapped", "members": members}))
        before = files_under(tmp_path / "_env")
        r = runner.invoke(app, ["select", "--zoo", str(path), "--task", TASK, "--budget", 8])
    assert r.exit_code == 2 and "leaderboard_name 'qwen2-0.5bb' is not a model of the Open LLM Leaderboard" in r.output
    assert files_under(tmp_path / "_env") == before
