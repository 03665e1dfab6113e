"""The vision benchmark's machinery on a synthetic zoo whose true order is known by construction.

Images are stand-ins (class id, index); each member's features carry its class signal at a
member-specific strength, so members with more signal have higher linear-probe accuracy and
every method has something real to find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from llm_spider.ranking.base import TaskView
from llm_spider.vision.benchmark import (
    METHODS,
    Target,
    VisionBench,
    disjoint_history,
    summarize,
)
from llm_spider.vision.tasks import ImageTaskSpec
from llm_spider.vision.truth import linear_probe_accuracy
from llm_spider.vision.zoo import TaskFeatures

SIGNAL = {"efficientnet-lite0": 2.0, "strong": 3.0, "medium": 1.0, "weak": 0.4, "noise": 0.0}
N_CLASSES, PER_CLASS, DIM = 14, 16, 24


class FakeStore:
    """What VisionBench needs of a FeatureStore, computed from the stand-in images."""

    progress = None

    def __init__(self, cache_dir):
        self.cache_dir = cache_dir
        rng = np.random.default_rng(0)
        self.directions = rng.normal(size=(N_CLASSES, DIM))

    def chunks(self, spec):
        return [np.stack([np.full(PER_CLASS, int(c[1:])), np.arange(PER_CLASS)], axis=1) for c in spec.classes]

    def features(self, model, chunks, progress=None):
        feats, labels = [], []
        for k, chunk in enumerate(chunks):
            for cls, i in chunk:
                rng = np.random.default_rng([int(cls), int(i), len(model)])
                feats.append(SIGNAL[model] * self.directions[cls] + rng.normal(size=DIM))
                labels.append(k)
        f = np.asarray(feats, np.float32)
        logits = f[:, :10].astype(np.float64)
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        return TaskFeatures(f, probs if model != "medium" else np.zeros((len(f), 0)), np.asarray(labels),
                            seconds=0.01 * len(f))


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    store = FakeStore(tmp_path_factory.mktemp("cache"))
    rng = np.random.default_rng(1)
    specs = {}
    for i in range(16):
        classes = tuple(sorted(f"c{j}" for j in rng.choice(N_CLASSES, 4, replace=False)))
        specs[f"history-{i:02d}"] = ImageTaskSpec(f"history-{i:02d}", "", classes)
    specs["target"] = ImageTaskSpec("target", "", ("c0", "c1", "c2", "c3"))
    rows = []
    for name, spec in specs.items():
        for m in SIGNAL:
            tf = store.features(m, store.chunks(spec))
            rows.append({"model": m, "task": name, "score": linear_probe_accuracy(tf.features, tf.labels)})
    return VisionBench(store, pd.DataFrame(rows), list(SIGNAL), top_k=2, specs=specs)


def test_every_method_gives_a_record_with_the_contract_fields(bench):
    records = bench.run("target")
    assert [r["method"] for r in records] == list(METHODS)
    for r in records:
        assert {"task", "method", "weighted_tau", "top1_regret", "seconds"} <= set(r)
        assert r["seconds"] > 0 and -1 <= r["weighted_tau"] <= 1 and r["top1_regret"] >= 0
        assert sorted(r["ranking"]) == sorted(SIGNAL)
    by = {r["method"]: r for r in records}
    # signal strength orders the members; the Spider and LogME both see it
    assert by["spider"]["weighted_tau"] > 0.5 and by["logme"]["weighted_tau"] > 0.5
    # the Spider runs 5 images per class of the fixed extractor and 10 per class of its top 2 only
    assert by["spider (no rerank)"]["images_forwarded"] == 4 * 5
    assert by["spider"]["images_forwarded"] == 4 * 5 + 2 * 4 * 10
    assert by["logme"]["images_forwarded"] == len(SIGNAL) * 4 * PER_CLASS
    assert by["spider"]["seconds"] < by["logme"]["seconds"]
    # a member without a source head cannot be scored by NCE/LEEP: imputed, and said so
    assert by["leep"]["imputed"] == ["medium"] and "imputed" not in by["logme"]
    summary = summarize(records)
    assert set(summary["method"]) == set(METHODS) and summary["tasks"].eq(1).all()


def test_spider_never_trains_on_tasks_sharing_a_class_with_the_target(bench):
    target = bench.target(bench.specs["target"])
    train = disjoint_history(target, bench.specs)
    assert train and "target" not in train
    assert all(not set(bench.specs[t].classes) & set(target.classes) for t in train)
    # a user's folder has no class ids: the whole history is usable
    assert len(disjoint_history(Target("mine", target.chunks), bench.specs)) == len(bench.specs)


def test_a_shorter_history_is_the_first_history_tasks_and_the_named_ones(bench):
    target = bench.target(bench.specs["target"])
    full = disjoint_history(target, bench.specs)
    short = disjoint_history(target, bench.specs, history=5)
    assert short == [t for t in full if int(t.split("-")[1]) <= 5] and len(short) < len(full)
    named = {**bench.specs, "named": ImageTaskSpec("named", "", ("c12", "c13"))}
    assert "named" in disjoint_history(target, named, history=0)


def test_the_token_set_decides_what_a_candidate_carries(bench):
    from llm_spider.vision.tokens import TOKEN_SETS

    target = bench.target(bench.specs["target"])
    for token_set, names in TOKEN_SETS.items():
        other = VisionBench(bench.store, bench.truth, bench.members, top_k=2, specs=bench.specs, tokens=token_set)
        assert other.extra_tokens("strong", target)[0].shape == (4, len(names))
        assert other.spider_params["extra_dim"] == len(names)
    with pytest.raises(Exception, match="token set"):
        VisionBench(bench.store, bench.truth, bench.members, specs=bench.specs, tokens="pixels")


def test_same_class_same_images_whatever_the_task():
    chunk = np.arange(40).reshape(20, 2)
    a = Target("a", [chunk, chunk + 100]).subset(5)
    b = Target("b", [chunk]).subset(5)
    assert np.array_equal(a[0], b[0]) and len(a[1]) == 5


def test_a_fitted_spider_is_reused_for_the_same_history(bench):
    target = bench.target(bench.specs["target"])
    first, tasks, seconds = bench.fit_spider(target)
    again, tasks2, seconds2 = bench.fit_spider(target)
    assert tasks == tasks2 and seconds2 == pytest.approx(seconds)
    view = TaskView("target", bench.general_tokens(target)[0])
    assert np.allclose(first.predict(view), again.predict(view))


def test_evaluate_keeps_finished_rows_and_computes_only_the_rest(tmp_path):
    from llm_spider.vision.zoo import evaluate_vision

    store = FakeStore(tmp_path)
    specs = [ImageTaskSpec("t1", "", ("c0", "c1")), ImageTaskSpec("t2", "", ("c2", "c3", "c4"))]
    full = evaluate_vision(["strong", "noise"], specs, store)
    assert len(full) == 4 and full.set_index(["model", "task"])["score"]["strong"].min() > 0.9
    new_rows = []
    resumed = evaluate_vision(["strong", "noise"], specs, store, on_row=new_rows.append, done=full.iloc[:3])
    assert [(r["model"], r["task"]) for r in new_rows] == [("noise", "t2")]
    assert resumed.drop(columns=["probe_seconds"]).equals(full.drop(columns=["probe_seconds"]))
