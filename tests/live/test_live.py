"""The live zoo without real models: scoring prompts, resumable evaluation, probe features,
re-ranking, self-assessment and `compare`, driven by a deterministic fake backend."""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from llm_spider.backends.base import Backend, OptionScores
from llm_spider.cli import app
from llm_spider.errors import SpiderError
from llm_spider.ranking.probes import FEATURES, N_FEATURES, probe_features
from llm_spider.tasks import get_task
from llm_spider.zoo.evaluate import (
    LocalStore,
    RunLog,
    evaluate_run,
    probe_items,
    scoring_items,
)
from llm_spider.zoo.history import History
from llm_spider.zoo.local import load_zoo
from llm_spider.zoo.members import LocalModel


class FakeBackend(Backend):
    """Answers right with probability ``skill`` (deterministically per prompt), confident or not."""

    name = "fake"

    def __init__(self, skill: float, confidence: float = 2.0, fail_after: int | None = None, answers=None):
        super().__init__()
        self.skill, self.confidence, self.fail_after = skill, confidence, fail_after
        self.answers = answers or {}
        self.load_seconds = 0.0

    def option_logprobs(self, prompts, options, progress=None):
        out = []
        for p, opts in zip(prompts, options):
            if self.fail_after is not None and self.forward_passes >= self.fail_after:
                raise KeyboardInterrupt
            rng = np.random.default_rng(int(hashlib.sha256(f"{p}|{self.skill}".encode()).hexdigest()[:8], 16))
            gold = self.answers.get(p, 0)
            pick = gold if rng.random() < self.skill else (gold + 1) % len(opts)
            logits = np.zeros(len(opts))
            logits[pick] = self.confidence
            out.append(logits - np.log(np.exp(logits).sum()))
            self.forward_passes += 1
            if progress:  # as the real backends do, per batch
                progress(1)
        return OptionScores(out, np.zeros(len(prompts)))


def fake_model(name: str) -> LocalModel:
    return LocalModel(name, name, 0.1, True, ("fake==1",), "pip install fake", (("no_such_module_xyz", "f.gguf"),), "0" * 64)


# --- scoring prompts ---------------------------------------------------------------------------
def test_scoring_items_are_letter_choices_with_gold_index():
    items = scoring_items(get_task("mmlu_marketing"))
    assert len(items) == 234
    first = items[0]
    assert first.options == (" A", " B", " C", " D")
    assert first.prompt.endswith("Answer:") and "D. " in first.prompt
    assert 0 <= first.answer < 4


def test_bbh_options_are_re_rendered_as_letters():
    items = scoring_items(get_task("bbh_date_understanding"))
    assert "Options:" not in items[0].prompt and "(A)" not in items[0].prompt
    assert items[0].prompt.count("\nA. ") == 1 and len(items[0].options) == 6
    fixed = scoring_items(get_task("bbh_boolean_expressions"))[0]
    assert "A. True" in fixed.prompt and "B. False" in fixed.prompt


def test_free_form_task_is_refused():
    with pytest.raises(SpiderError, match="no multiple-choice items"):
        scoring_items(get_task("bbh_word_sorting"))


def test_probes_are_fixed_per_task_and_differ_between_tasks():
    a = probe_items(get_task("mmlu_marketing"), 16)
    assert [p.index for p in a] == [p.index for p in probe_items(get_task("mmlu_marketing"), 16)]
    assert len(a) == 16 and [p.index for p in a] == sorted(p.index for p in a)
    b = probe_items(get_task("mmlu_philosophy"), 16)
    assert [p.index for p in a] != [p.index for p in b]


# --- resumable evaluation ------------------------------------------------------------------------
def test_interrupted_evaluate_resumes_without_losing_or_duplicating(tmp_path):
    task = get_task("bbh_boolean_expressions")
    items = scoring_items(task)
    answers = {it.prompt: it.answer for it in items}
    store = LocalStore(tmp_path)
    model = fake_model("m")
    with pytest.raises(KeyboardInterrupt):
        evaluate_run(FakeBackend(0.7, fail_after=100, answers=answers), model, task, store, chunk=32)
    log = store.run_log("m", task, "fake")
    partial = log.load()
    assert len(partial) == 96  # three whole chunks were saved, the fourth was interrupted
    # a torn last line (killed mid-write) is cut off, not parsed
    with log.path.open("a") as f:
        f.write('{"i": 999, "answer": 0, "logp')
    assert len(log.load()) == 96
    backend = FakeBackend(0.7, answers=answers)
    row = evaluate_run(backend, model, task, store, chunk=32)
    assert backend.forward_passes == len(items) - 96  # only the rest was run
    lines = log.path.read_text().splitlines()
    assert len(lines) == len(items) == len({json.loads(line)["i"] for line in lines})
    # the accuracy equals an uninterrupted run's
    fresh = evaluate_run(FakeBackend(0.7, answers=answers), model, task, LocalStore(tmp_path / "b"))
    assert row["score"] == fresh["score"] and row["n_items"] == 250
    hist = store.history_frame()
    assert len(hist) == 1 and hist.loc[0, "backend"] == "fake" and hist.loc[0, "shots"] == 0
    assert {"template", "versions", "date", "seconds"} <= set(hist.columns)
    assert len(store.items_frame()) == 250


class SlowBackend(FakeBackend):
    """A fake that takes ``delay`` seconds per prompt, so that time spent is measurable."""

    def __init__(self, delay: float, **kwargs):
        super().__init__(0.7, **kwargs)
        self.delay = delay

    def option_logprobs(self, prompts, options, progress=None):
        time.sleep(self.delay * len(prompts))
        return super().option_logprobs(prompts, options, progress)


def test_a_sigkilled_evaluate_keeps_the_seconds_of_its_saved_items(tmp_path):
    """Issue 21, case 7: a run killed with SIGKILL (no finally, no handler) resumed with 26.7 s
    recorded against 71 s uninterrupted, so brute force was under-charged."""
    import multiprocessing
    import signal

    task = get_task("bbh_boolean_expressions")
    answers = {it.prompt: it.answer for it in scoring_items(task)}
    delay, chunk = 0.01, 8
    log = LocalStore(tmp_path).run_log("m", task, "fake")

    def run():
        evaluate_run(SlowBackend(delay, answers=answers), fake_model("m"), task, LocalStore(tmp_path), chunk=chunk)

    child = multiprocessing.get_context("fork").Process(target=run)
    child.start()
    deadline = time.time() + 60
    while time.time() < deadline and (not log.path.is_file() or len(log.path.read_text().splitlines()) < 120):
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    saved = len(log.load())
    assert 120 <= saved < 250 and saved % chunk == 0  # saved after every batch of `chunk` items
    backend = SlowBackend(delay, answers=answers)
    row = evaluate_run(backend, fake_model("m"), task, LocalStore(tmp_path), chunk=chunk)
    assert backend.forward_passes == 250 - saved
    assert row["seconds"] >= 0.9 * 250 * delay  # the killed segment's saved items count too


def test_evaluate_saves_after_every_batch_of_batch_size(tmp_path, monkeypatch):
    """`evaluate --help` promises progress saved after every batch: the chunk is --batch-size."""
    from llm_spider.zoo import evaluate as ev
    from llm_spider.zoo import local

    seen = []
    real = ev.evaluate_run
    monkeypatch.setattr(ev, "evaluate_run", lambda *a, **k: seen.append(k["chunk"]) or real(*a, **k))
    monkeypatch.setattr(local, "load_backend", lambda m, *a, **k: FakeBackend(0.7))
    monkeypatch.setattr(LocalModel, "installed", property(lambda self: True))
    result = CliRunner().invoke(app, ["evaluate", "--task", "bbh_boolean_expressions", "--models",
                                      "smollm2-135m-instruct", "--batch-size", "5", "--output", str(tmp_path),
                                      "--no-reuse"])
    assert result.exit_code == 0, result.output
    assert seen == [5]
    assert "after every batch" in " ".join(CliRunner().invoke(app, ["evaluate", "--help"]).output.split())


def test_resume_under_other_settings_is_refused(tmp_path):
    log = RunLog(tmp_path / "r.jsonl", {"backend": "a", "template": "t", "template_sha": "1", "shots": 0})
    log.start()
    other = RunLog(tmp_path / "r.jsonl", {"backend": "b", "template": "t", "template_sha": "1", "shots": 0})
    with pytest.raises(SpiderError, match="--restart"):
        other.load()


def test_store_upserts_a_rerun(tmp_path):
    task = get_task("bbh_boolean_expressions")
    answers = {it.prompt: it.answer for it in scoring_items(task)}
    store = LocalStore(tmp_path)
    evaluate_run(FakeBackend(0.2, answers=answers), fake_model("m"), task, store)
    evaluate_run(FakeBackend(0.9, answers=answers), fake_model("m"), task, store, restart=True)
    hist = store.history_frame()
    assert len(hist) == 1 and hist.loc[0, "score"] > 0.7
    assert len(store.items_frame()) == 250


# --- the zoo file ----------------------------------------------------------------------------------
def test_local_zoo_names_members_and_install_commands():
    zoo = load_zoo("local")
    assert {"smollm2-135m-instruct", "gemma3-270m", "qwen2.5-coder-0.5b-instruct"} <= set(zoo.names())
    large = zoo.get("qwen2.5-coder-1.5b-instruct")
    assert not large.default and "local-large" in large.install
    assert all(len(m.sha256) == 64 for m in zoo.models)
    assert [m.name for m in zoo.select()] == [m.name for m in zoo.models if m.default]


def test_missing_model_says_how_to_install():
    m = fake_model("ghost")
    assert not m.installed
    with pytest.raises(SpiderError, match="not installed: pip install fake"):
        m.gguf_file()


def test_model_that_does_not_fit_is_refused_before_loading(monkeypatch):
    from llm_spider.backends import hf
    from llm_spider.zoo.local import load_backend

    zoo = load_zoo("local")
    member = next((m for m in zoo.models if m.installed), None)
    if member is None:
        pytest.skip("no local zoo member installed")
    monkeypatch.setattr(hf, "available_memory_bytes", lambda: 2**20)
    with pytest.raises(SpiderError, match="GiB of memory"):
        load_backend(member)


def test_damaged_gguf_is_refused(tmp_path, monkeypatch):
    part = tmp_path / "pkg" / "f.gguf"
    part.parent.mkdir()
    part.write_bytes(b"not a model")
    m = fake_model("x")
    monkeypatch.setattr(LocalModel, "part_paths", lambda self: [part])
    with pytest.raises(SpiderError, match="sha256"):
        m.gguf_file(tmp_path)


# --- probe features, self-assessment -------------------------------------------------------------
def test_probe_features_by_hand():
    lp = {"a": [np.log([0.7, 0.2, 0.1]), np.log([0.5, 0.5, 0.0 + 1e-12])],
          "b": [np.log([0.1, 0.8, 0.1]), np.log([0.9, 0.05, 0.05])]}
    f = probe_features(lp, [0, 1])
    assert f["a"].shape == (2, N_FEATURES) and len(FEATURES) == N_FEATURES
    a0 = dict(zip(FEATURES, f["a"][0]))
    assert a0["p_gold_above_chance"] == pytest.approx(0.7 - 1 / 3)
    assert a0["correct"] == 1.0 and a0["max_prob"] == pytest.approx(0.7)
    assert a0["margin"] == pytest.approx(0.5)
    assert a0["agreement"] == pytest.approx(0.1)  # b gives a's answer (option 0) probability 0.1
    b1 = dict(zip(FEATURES, f["b"][1]))
    assert b1["correct"] == 0.0 and b1["agreement"] == pytest.approx(0.5)
    alone = probe_features({"a": lp["a"]}, [None, None])["a"]
    assert alone[0, FEATURES.index("has_label")] == 0 and alone[0, FEATURES.index("agreement")] == pytest.approx(1 / 3)


def test_self_assessment_reads_digit_probabilities():
    from llm_spider.baselines.self_assessed import (
        DIGITS,
        probe_confidence,
        verbal_prompt,
        verbal_rating,
    )

    class Rater(FakeBackend):
        def option_logprobs(self, prompts, options, progress=None):
            assert list(options[0]) == list(DIGITS) and prompts[0].endswith("Rating: ")
            p = np.full(10, 1e-9)
            p[7] = 1.0
            return OptionScores([np.log(p / p.sum())], np.zeros(1))

    assert verbal_rating(Rater(0.5), ["Q1", "Q2"], "marketing") == pytest.approx(7.0, abs=1e-6)
    assert "Q2" in verbal_prompt(["Q1", "Q2"]) and "0 (never correct) to 9" in verbal_prompt(["Q1"])
    assert probe_confidence([np.log([0.9, 0.1]), np.log([0.5, 0.5])]) == pytest.approx(0.7)


# --- compare, end to end on a fake zoo ------------------------------------------------------------
@pytest.fixture()
def fake_zoo():
    """Three models whose true accuracy is set per task, plus their stored per-item results."""
    from llm_spider.zoo.history import History

    tasks = ["bbh_boolean_expressions", "bbh_sports_understanding", "bbh_web_of_lies", "bbh_navigate", "bbh_hyperbaton"]
    skills = {"weak": 0.3, "mid": 0.6, "strong": 0.9}
    rows, items = [], []
    for t in tasks:
        task = get_task(t)
        answers = {it.prompt: it.answer for it in scoring_items(task)}
        for m, s in skills.items():
            # on web_of_lies the weak model is best: a task-specific reversal
            skill = 1.2 - s if t == "bbh_web_of_lies" else s
            b = FakeBackend(skill, answers=answers)
            its = scoring_items(task)
            sc = b.option_logprobs([i.prompt for i in its], [i.options for i in its])
            acc = np.mean([np.argmax(lp) == i.answer for lp, i in zip(sc.logprobs, its)])
            rows.append({"model": m, "task": t, "score": acc, "seconds": 1.0})
            items.append(pd.DataFrame({"model": m, "task": t, "item": [i.index for i in its],
                                       "answer": [i.answer for i in its], "logprobs": sc.logprobs, "mass": 0.0}))
    return History(pd.DataFrame(rows)), pd.concat(items, ignore_index=True), skills


class FakeEncoder:
    def encode(self, task):
        rng = np.random.default_rng(len(task.name))
        return rng.normal(size=(8, 16)).astype(np.float32)


def test_compare_shows_a_bar_for_every_members_probes_and_self_rating(fake_zoo, recording):
    """Issue 21, case 2: compare showed nothing for over a minute while it loaded and probed models."""
    from llm_spider.benchmark.live import compare

    history, items, skills = fake_zoo
    target = get_task("bbh_web_of_lies")
    answers = {it.prompt: it.answer for it in scoring_items(target)}
    progress = recording
    compare([target], [fake_model(m) for m in skills], history, items, FakeEncoder(),
            lambda m: FakeBackend(skills[m.name], answers=answers), top_k=2, n_probes=8, progress=progress)
    for m in skills:
        probes = progress.bars[f"{m} · 8 probes of bbh_web_of_lies"]
        assert sum(n for _, n in probes) == 8  # advanced as the backend scored them
        assert f"{m} · rating itself" in progress.bars


def test_a_local_model_loads_under_a_bar(monkeypatch, tmp_path, recording):
    from llm_spider.backends import hf
    from llm_spider.zoo import local

    member = load_zoo("local").get("smollm2-135m-instruct")
    monkeypatch.setattr(LocalModel, "installed", property(lambda self: True))
    monkeypatch.setattr(hf, "is_converted", lambda out: False)
    monkeypatch.setattr(hf, "convert_gguf", lambda *a: None)
    monkeypatch.setattr(LocalModel, "gguf_file", lambda self, cache_dir=None: tmp_path / "x.gguf")
    monkeypatch.setattr(local.BACKENDS.get("transformers"), "open", classmethod(lambda cls, out, **k: FakeBackend(0.5)))
    progress = recording
    local.load_backend(member, progress=progress)
    assert {"converting smollm2-135m-instruct", "loading smollm2-135m-instruct"} <= set(progress.bars)


def test_the_encoding_seconds_of_a_task_survive_its_cache(tmp_path):
    """compare's `enc s` read the wall time of a cached read (0.007 s) after a minute of encoding."""
    from llm_spider.encoders import TaskEncoder

    task = get_task("bbh_snarks")
    first = TaskEncoder(n_prompts=4, cache_dir=tmp_path)
    first.encode(task)
    spent = first.seconds_["bbh_snarks"]
    assert spent > 0.001
    again = TaskEncoder(n_prompts=4, cache_dir=tmp_path)
    again.encode(task)  # from the cache
    assert again.seconds_["bbh_snarks"] == pytest.approx(spent, abs=1e-4)


def test_compare_counts_compute_and_scores_every_method(fake_zoo):
    from llm_spider.benchmark.live import METHODS, compare, summarize_live

    history, items, skills = fake_zoo
    members = [fake_model(m) for m in skills]
    target = get_task("bbh_web_of_lies")
    answers = {it.prompt: it.answer for it in scoring_items(target)}

    def loader(m):
        return FakeBackend(1.2 - skills[m.name], answers=answers)

    records = compare([target], members, history, items, FakeEncoder(), loader, top_k=2, n_probes=8)
    by = {r["method"]: r for r in records}
    assert set(by) == set(METHODS)
    for r in records:
        assert {"task", "method", "top1_accuracy", "weighted_tau", "top1_regret", "forward_passes", "seconds"} <= set(r)
    assert by["brute force"]["forward_passes"] == 3 * 250 and by["brute force"]["weighted_tau"] == pytest.approx(1.0)
    assert by["spider+rerank"]["forward_passes"] == 2 * 8
    assert by["spider+evidence"]["forward_passes"] == 2 * 8  # the same probe runs, charged to both
    assert by["spider+rerank"]["candidates"] == by["spider+evidence"]["candidates"]
    assert 0.0 <= by["spider+evidence"]["probe_weight"] <= 1.0
    assert by["self-assessed (probe confidence)"]["forward_passes"] == 3 * 8
    assert by["self-assessed (verbal)"]["forward_passes"] == 3
    assert by["spider"]["forward_passes"] == 0 and by["leaderboard"]["forward_passes"] == 0
    # history says "strong" is best; on this task it is the worst: only methods that look at the
    # models' own answers can see it
    assert by["leaderboard"]["top1_model"] == "strong"
    assert by["brute force (probes)"]["top1_model"] == "weak"
    summary = summarize_live(records)
    assert list(summary["method"]) == [m for m in METHODS]
    assert summary.set_index("method").loc["brute force", "passes_vs_brute_force"] == 1.0


def test_stored_probe_runs_replay_the_live_probe_runs(fake_zoo):
    from llm_spider.benchmark.live import run_probes, stored_probe_runs

    history, items, skills = fake_zoo
    target = get_task("bbh_navigate")
    answers = {it.prompt: it.answer for it in scoring_items(target)}
    live, probes = run_probes([fake_model(m) for m in skills], target, 8, lambda m: FakeBackend(skills[m.name], answers=answers))
    stored, same = stored_probe_runs(items, list(skills), target, 8)
    assert [p.index for p in same] == [p.index for p in probes]
    for m in skills:
        np.testing.assert_allclose(np.stack(stored[m].logprobs), np.stack(live[m].logprobs))
        assert stored[m].probe_passes == 8 and stored[m].probe_seconds == 0.0 and np.isnan(stored[m].verbal)
    gone = items[~((items["model"] == "mid") & (items["task"] == "bbh_navigate") & (items["item"] == probes[0].index))]
    with pytest.raises(SpiderError, match="no stored result of mid on every probe of 'bbh_navigate'"):
        stored_probe_runs(gone, list(skills), target, 8)


def test_compare_without_truth_names_the_evaluate_command(fake_zoo):
    from llm_spider.benchmark.live import compare

    history, items, skills = fake_zoo
    with pytest.raises(SpiderError, match="llm-spider evaluate --task openbookqa"):
        compare([get_task("openbookqa")], [fake_model(m) for m in skills], history, items, FakeEncoder(),
                lambda m: FakeBackend(0.5), top_k=2, n_probes=4)


def _probe_tokens(acc, rng, noise=0.05):
    return {m: (np.tile([[a - 0.25, a, a, 0.2, 0.5, 1, 0.3, 1]], (8, 1)) + rng.normal(0, noise, (8, N_FEATURES))
                ).astype(np.float32) for m, a in zip("abcd", acc)}


@pytest.mark.parametrize("seed", [0, 1])
def test_spider_learns_to_rerank_from_probe_tokens(seed):
    """The top pair swaps from task to task and the prompts do not say when: only the candidates'
    probe tokens do. A Spider trained with them re-ranks its top-2 right on both kinds of target."""
    from llm_spider.ranking.base import TaskView
    from llm_spider.ranking.spider import SpiderRanker
    from llm_spider.zoo.history import History

    rng = np.random.default_rng(seed)
    table, extra, tokens = {}, {}, {}
    for j in range(24):
        acc = np.array([0.7, 0.6, 0.4, 0.3] if j % 2 else [0.6, 0.7, 0.4, 0.3]) + rng.normal(0, 0.02, 4)
        table[f"t{j}"], tokens[f"t{j}"] = dict(zip("abcd", acc)), rng.normal(size=(8, 16)).astype(np.float32)
        extra[f"t{j}"] = _probe_tokens(acc, rng)
    history = History.from_wide(pd.DataFrame(table), source="test")
    spider = SpiderRanker(extra_dim=N_FEATURES, random_state=seed).fit(history, tokens, extra_tokens=extra)
    for acc, best in (([0.5, 0.75, 0.4, 0.3], "b"), ([0.75, 0.5, 0.4, 0.3], "a")):
        target = rng.normal(size=(8, 16)).astype(np.float32)
        top2 = list(spider.predict(TaskView("x", target)).sort_values(ascending=False).index[:2])
        assert set(top2) == {"a", "b"}
        feats = {m: f for m, f in _probe_tokens(acc, rng).items() if m in top2}
        assert spider.predict(TaskView("x", target, feats))[top2].idxmax() == best
    with pytest.raises(SpiderError, match="extra_dim"):
        SpiderRanker().fit(history, tokens, extra_tokens=extra)


# --- zoos with specialists, sampled ground truth, diversity ----------------------------------------
def _zoo_file(tmp_path, adapter_exists=True):
    import json as _json

    from llm_spider.zoo.zoofile import pypi_entries

    base = pypi_entries("local")["smollm2-135m-instruct"]
    if adapter_exists:
        (tmp_path / "spec-dir").mkdir()
    (tmp_path / "zoo.json").write_text(_json.dumps({"name": "mine", "models": [
        base, {"name": "smollm2-135m-instruct+medicine", "base": base["name"], "adapter": "spec-dir",
               "source": "medicine"}]}))
    return tmp_path


def test_a_specialist_member_shares_its_base_weights_and_names_its_adapter(tmp_path):
    zoo = load_zoo(str(_zoo_file(tmp_path)))
    base, spec = zoo.models
    assert zoo.name == "mine" and spec.base == base.name and spec.sha256 == base.sha256
    assert spec.adapter == str(tmp_path / "spec-dir") and spec.converted_dir() == base.converted_dir()
    assert zoo.results_dir is None  # no shipped results beside it
    (tmp_path / "spec-dir").rmdir()
    spec = load_zoo(str(tmp_path / "zoo.json")).models[1]
    if base.installed:
        assert not spec.installed and "build-specialists --bases smollm2-135m-instruct --sources medicine" in \
            spec.missing_message()


def test_a_specialist_without_its_base_in_the_file_is_refused(tmp_path):
    (tmp_path / "zoo.json").write_text('{"models": [{"name": "x+y", "base": "x", "adapter": "a"}]}')
    with pytest.raises(SpiderError, match="not a valid zoo file.*names base 'x'"):
        load_zoo(str(tmp_path))


def test_sampled_ground_truth_contains_the_probes_and_reuses_another_stores_items(tmp_path):
    from llm_spider.zoo.evaluate import evaluated_items

    task = get_task("mmlu_marketing")
    answers = {it.prompt: it.answer for it in scoring_items(task)}
    sample = evaluated_items(task, 40)
    assert len(sample) == 40 and {p.index for p in probe_items(task, 16)} <= {s.index for s in sample}
    assert evaluated_items(task, 10_000) == scoring_items(task)

    model = fake_model("m")
    full = LocalStore(tmp_path / "full")
    whole = evaluate_run(FakeBackend(0.7, answers=answers), model, task, full)
    assert whole["max_items"] is None and whole["n_items"] == len(scoring_items(task))
    # Charge the whole run 100 s (log and history alike) so that a reused share is far above rounding.
    meta = full.run_log("m", task, "fake").meta_path
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "seconds": 100.0}))
    hist = full.history_frame().assign(seconds=100.0)
    hist.to_csv(tmp_path / "full" / "history.csv", index=False)

    class Refuses(FakeBackend):
        def option_logprobs(self, prompts, options):
            raise AssertionError("every sampled item should have been reused")

    store = LocalStore(tmp_path / "sampled")
    row = evaluate_run(Refuses(0.7), model, task, store, max_items=40, reuse=[full])
    assert row["n_items"] == 40 and row["max_items"] == 40 and row["reused_items"] == 40
    kept = full.items_frame().set_index("item").loc[[s.index for s in sample]]
    assert row["score"] == pytest.approx(np.mean([np.argmax(lp) == a for lp, a in zip(kept["logprobs"], kept["answer"])]))
    spent = lambda st: json.loads(st.run_log("m", task, "fake").meta_path.read_text())["seconds"]  # noqa: E731
    share = spent(full) * 40 / len(scoring_items(task))
    assert share <= spent(store) < share + 0.05  # its share of the reused run's time (+ its own, ~0)
    assert len(store.run_log("m", task, "fake").load()) == 40  # the new store holds its items itself

    # Shipped stores keep no run logs: their history row and items table are reused the same way.
    import shutil

    shutil.rmtree(tmp_path / "full" / "runs")
    again = evaluate_run(Refuses(0.7), model, task, LocalStore(tmp_path / "again"), max_items=40, reuse=[full])
    assert again["reused_items"] == 40 and again["score"] == row["score"]
    assert again["seconds"] == pytest.approx(row["seconds"], abs=0.02)  # each adds its own few ms


def test_brute_force_is_charged_for_the_items_the_truth_was_measured_on():
    from llm_spider.benchmark.live import brute_force

    task = get_task("mmlu_marketing")
    hist = History(pd.DataFrame({"model": ["a", "b"], "task": [task.name] * 2, "score": [0.3, 0.4],
                                 "n_items": [40, 40], "seconds": [1.0, 2.0]}))
    bf = brute_force(task, pd.Series({"a": 0.3, "b": 0.4}), hist)
    assert bf.forward_passes == 80 and bf.order == ["b", "a"] and bf.seconds == 3.0


def test_diversity_counts_tasks_the_best_mean_member_does_not_win():
    from llm_spider.zoo.diversity import diversity, truth_table

    long = pd.DataFrame({"task": ["t1", "t1", "t1", "t2", "t2", "t2", "t3", "t3", "t3", "t4", "t4"],
                         "model": ["a", "b", "c"] * 3 + ["a", "b"],
                         "score": [0.9, 0.5, 0.4, 0.8, 0.85, 0.3, 0.7, 0.2, 0.75, 0.1, 0.9]})
    table = truth_table(long)
    assert list(table.index) == ["t1", "t2", "t3"]  # t4 lacks c: not comparable
    per_task, s = diversity(table)
    assert s.overall_best == "a" and s.tasks_not_won_by_overall_best == 2 and s.distinct_winners == 3
    assert s.mean_gap_where_not_won == pytest.approx(0.05) and s.share_not_won == pytest.approx(2 / 3)
    assert per_task.set_index("task").loc["t2", "best_model"] == "b"
    with pytest.raises(SpiderError, match="no ground truth for d"):
        truth_table(long, ["a", "d"])


def test_zoo_truth_command_prints_the_table_and_the_diversity_check(tmp_path):
    from typer.testing import CliRunner

    from llm_spider.cli import app

    _zoo_file(tmp_path)
    pd.DataFrame({"model": ["smollm2-135m-instruct", "smollm2-135m-instruct+medicine"] * 2,
                  "task": ["mmlu_anatomy", "mmlu_anatomy", "arc_challenge", "arc_challenge"],
                  "score": [0.30, 0.40, 0.50, 0.45]}).to_csv(tmp_path / "history.csv", index=False)
    out = CliRunner().invoke(app, ["zoo", "truth", "--zoo", str(tmp_path), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {r["task"]: r for r in json.loads(out.stdout)}
    assert rows["mmlu_anatomy"]["smollm2-135m-instruct+medicine"] == 0.40 and "(mean)" in rows
    div = CliRunner().invoke(app, ["zoo", "truth", "--zoo", str(tmp_path), "--diversity", "--format", "csv"])
    assert div.exit_code == 0, div.output
    frame = pd.read_csv(__import__("io").StringIO(div.stdout))
    assert list(frame["best_model"]) == ["smollm2-135m-instruct", "smollm2-135m-instruct+medicine"]
    assert "is not the best on 1/2 tasks" in div.stderr.replace("\n", " ")


def test_paired_differences_count_wins_and_bound_the_mean():
    from llm_spider.benchmark.live import paired_differences

    records = []
    for i, (a, b) in enumerate([(0.5, 0.4), (0.3, 0.3), (0.2, 0.4), (0.6, 0.5)]):
        records += [{"task": f"t{i}", "method": "spider+rerank", "top1_accuracy": a, "weighted_tau": 1.0},
                    {"task": f"t{i}", "method": "leaderboard", "top1_accuracy": b, "weighted_tau": 0.5}]
    out = paired_differences(records, against=("leaderboard", "absent"))
    acc = out[out["metric"] == "top1_accuracy"].iloc[0]
    assert (acc["wins"], acc["ties"], acc["losses"], acc["tasks"]) == (2, 1, 1, 4)
    assert acc["mean_difference"] == pytest.approx(0.0) and acc["ci95_low"] < 0 < acc["ci95_high"]
    tau = out[out["metric"] == "weighted_tau"].iloc[0]
    assert tau["wins"] == 4 and tau["ci95_low"] == pytest.approx(0.5)
    assert set(out["against"]) == {"leaderboard"}  # a method that did not run is left out
