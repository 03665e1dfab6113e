"""The vision benchmark: the Spider against the nine transferability estimators on image tasks.

Protocol, per target task (a named task with shipped ground truth):
- truth: each member's linear-probe accuracy on the target (`zoo.vision`);
- the nine estimators score every member from its features (or source-class probabilities) on
  all of the target's images; their compute is every member's extraction plus the estimator;
- the Spider is fitted on the ground truth of the *history*: every task that shares no class
  with the target (so no target image is ever a training image), with general tokens (class
  prototypes of 5 images per class under EfficientNet-Lite0) and, for re-ranking, PTM-specific
  tokens of every member on each history task's probe images (10 per class). It ranks the
  target from its general tokens, then runs only its top-k candidates on the target's probe
  images and re-orders those k. Its compute (``seconds``) is what ranking a new task costs: the
  general extractor on the few-shot images, the k candidates on the probes, and scoring. Fitting
  is done once per history, not per task (the paper's accounting too); it is recorded apart as
  ``fit_seconds`` (this protocol refits per target only to keep the target out of training).
Extraction seconds are those of the first, real extraction (cached features are charged what
they cost), pro-rated when only a subset of a class's images is used.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.metrics import top1_regret, weighted_tau
from llm_spider.ranking.base import TaskView, sort_scores
from llm_spider.ranking.spider.presets import PRESETS
from llm_spider.vision.estimators import ESTIMATORS
from llm_spider.vision.tasks import (
    NAMED,
    ImageTaskSpec,
    all_specs,
    spec_available,
)
from llm_spider.vision.tokens import (
    DEFAULT_TOKENS,
    FEW_SHOT,
    PROBES_PER_CLASS,
    candidate_tokens,
    prototypes,
    standardise_across,
    token_width,
)
from llm_spider.vision.zoo import FeatureStore, TaskFeatures
from llm_spider.zoo.history import History

GENERAL_EXTRACTOR = "efficientnet-lite0"
FIT_CACHE_VERSION = 2  # bump when the tokens or the training change
DEFAULT_TOP_K = 3
METHODS = ("spider", "spider (no rerank)", *ESTIMATORS.names())
VISION_SPIDER = PRESETS["vision"]
Log = Callable[[str], None]


def estimate(method: str, tf: TaskFeatures, reference: TaskFeatures | None = None) -> float:
    """One estimator's score of one member; NaN where it does not apply (no source head)."""
    return ESTIMATORS.get(method)().score(tf, reference)


def impute(scores: pd.Series) -> tuple[pd.Series, list[str]]:
    """Members an estimator cannot score (NCE/LEEP without a source head) get the median of the
    others: placed mid-pack rather than first or last."""
    missing = list(scores.index[scores.isna()])
    return scores.fillna(scores.median()), missing


def history_number(name: str) -> int | None:
    """NN of a ``history-NN`` task; None for a named one."""
    return int(name.split("-")[1]) if name.startswith("history-") else None


def disjoint_history(target, specs: dict[str, ImageTaskSpec], history: int | None = None) -> list[str]:
    """Tasks sharing no class (so no image) with the target (all of them for a user's folder);
    ``history``: only the first that many ``history-NN`` tasks (named tasks always)."""
    classes = set(target.classes)
    return [n for n, s in specs.items() if n != target.name and not classes & set(s.classes)
            and (history is None or (history_number(n) or 0) <= history)]


def reference_task(target, specs: dict[str, ImageTaskSpec]) -> ImageTaskSpec:
    """OTCE's labelled source sample: the first history-NN task disjoint from the target."""
    for n in disjoint_history(target, specs):
        if n.startswith("history-"):
            return specs[n]
    raise SpiderError(f"no history task is disjoint from {target.name}")


@dataclass
class Target:
    """An image task as the methods see it: per-class image arrays (class k = label k) and, for
    named tasks, the class ids that decide which history tasks are disjoint from it."""

    name: str
    chunks: list[np.ndarray]
    classes: tuple[str, ...] = ()

    def subset(self, per_class: int, seed: int = 0) -> list[np.ndarray]:
        """The same ``per_class`` images of a class whatever task it is part of (seeded per class)."""
        return [c[np.sort(np.random.default_rng(seed).permutation(len(c))[:per_class])] for c in self.chunks]


@dataclass
class Selection:
    method: str
    scores: pd.Series
    seconds: float
    images_forwarded: int
    extra: dict = field(default_factory=dict)


class VisionBench:
    """Everything the methods share for one zoo: features, ground truth, token sets.

    ``tokens``: the PTM-specific token set (vision/tokens.py); ``history``: learn from the first
    that many ``history-NN`` tasks (default: all with ground truth), for ablations."""

    def __init__(self, store: FeatureStore, truth: pd.DataFrame, members: Sequence[str],
                 top_k: int = DEFAULT_TOP_K, seed: int = 0, log: Log = lambda s: None,
                 specs: dict[str, ImageTaskSpec] | None = None, tokens: str = DEFAULT_TOKENS,
                 history: int | None = None):
        self.store, self.members, self.top_k, self.seed, self.log = store, list(members), top_k, seed, log
        self.tokens, self.history = tokens, history
        self.spider_params = {"extra_dim": token_width(tokens), **VISION_SPIDER}
        self.truth = truth[truth["model"].isin(self.members)]
        # tasks with ground truth whose images are installed here (CI may have clip-art only)
        specs = specs if specs is not None else {n: s for n, s in all_specs().items() if spec_available(s)}
        self.specs = {n: s for n, s in specs.items() if n in set(self.truth["task"])}
        self._tokens: dict[tuple, tuple[np.ndarray, float, int]] = {}
        self._extra: dict[tuple, tuple[np.ndarray, float, int]] = {}

    def target(self, spec: ImageTaskSpec) -> Target:
        return Target(spec.name, self.store.chunks(spec), spec.classes)

    def features(self, model: str, target: Target) -> TaskFeatures:
        return self.store.features(model, target.chunks)

    def general_tokens(self, target: Target) -> tuple[np.ndarray, float, int]:
        """Class prototypes of ``FEW_SHOT`` images per class under the fixed extractor; the seconds
        and images they cost."""
        key = (target.name, target.classes)  # a user's folder (no class ids) never aliases a named task
        if key not in self._tokens:
            few = self.store.features(GENERAL_EXTRACTOR, target.subset(FEW_SHOT, self.seed))
            self._tokens[key] = (prototypes(few.features, few.labels), few.seconds, len(few.labels))
        return self._tokens[key]

    def extra_tokens(self, model: str, target: Target) -> tuple[np.ndarray, float, int]:
        """A member's PTM-specific tokens from its run on ``PROBES_PER_CLASS`` images per class."""
        key = (model, target.name, target.classes)
        if key not in self._extra:
            probe = self.store.features(model, target.subset(PROBES_PER_CLASS, self.seed))
            t0 = time.perf_counter()
            tokens = candidate_tokens(probe.features, probe.labels, probe.probs, self.tokens)
            self._extra[key] = (tokens, probe.seconds + time.perf_counter() - t0, len(probe.labels))
        return self._extra[key]

    def truth_for(self, task: str) -> pd.Series:
        t = self.truth[self.truth["task"] == task].set_index("model")["score"]
        return t.reindex(self.members)

    # --- the methods -----------------------------------------------------------------------------
    def estimators(self, target: Target, methods: Sequence[str] | None = None) -> list[Selection]:
        methods = ESTIMATORS.names() if methods is None else methods
        feats = {m: self.features(m, target) for m in self.members}
        ref = self.target(reference_task(target, self.specs)) if "otce" in methods else None
        refs = {m: self.features(m, ref) for m in self.members} if ref else {}
        n_images = sum(len(f.labels) for f in feats.values())
        out = []
        for method in methods:
            scores, seconds, forwarded = {}, 0.0, n_images
            for m in self.members:
                t0 = time.perf_counter()
                scores[m] = estimate(method, feats[m], refs.get(m))
                seconds += time.perf_counter() - t0 + feats[m].seconds
                if method == "otce":
                    seconds += refs[m].seconds
                    forwarded += len(refs[m].labels)
            s, missing = impute(pd.Series(scores))
            out.append(Selection(method, s, seconds, forwarded, {"imputed": missing} if missing else {}))
        return out

    def fit_spider(self, target: Target):
        """A Spider fitted on every history task disjoint from ``target``; (spider, tasks, seconds)."""
        from llm_spider.ranking.spider import SpiderRanker

        train_tasks = disjoint_history(target, self.specs, self.history)
        if len(train_tasks) < 3:
            raise SpiderError(f"only {len(train_tasks)} history task(s) share no class with {target.name}")
        rows = self.truth[self.truth["task"].isin(train_tasks)][["model", "task", "score"]]
        history = History(rows.assign(source="vision-zoo"))
        key = hashlib.sha256(json.dumps([rows.sort_values(["task", "model"]).to_csv(index=False), self.members,
                                         self.spider_params, self.tokens, self.seed, GENERAL_EXTRACTOR, FEW_SHOT,
                                         PROBES_PER_CLASS, FIT_CACHE_VERSION]).encode()).hexdigest()[:20]
        path = Path(self.store.cache_dir) / "vision-spider" / key
        t0 = time.perf_counter()
        if path.is_dir():  # fitted before on this very history: a Spider is fitted once, not per task
            spider = SpiderRanker.load(path)
            return spider, train_tasks, float(json.loads((path / "fit.json").read_text())["fit_seconds"])
        histories = {t: self.target(self.specs[t]) for t in train_tasks}
        tokens = {t: self.general_tokens(h)[0] for t, h in histories.items()}
        extra = {t: standardise_across({m: self.extra_tokens(m, h)[0] for m in self.members})
                 for t, h in histories.items()}
        spider = SpiderRanker(random_state=self.seed, **self.spider_params).fit(history, tokens, extra_tokens=extra)
        seconds = time.perf_counter() - t0
        spider.save(path)
        (path / "fit.json").write_text(json.dumps({"fit_seconds": seconds, "train_tasks": train_tasks}) + "\n")
        return spider, train_tasks, seconds

    def spider(self, target: Target) -> list[Selection]:
        spider, train_tasks, fit_seconds = self.fit_spider(target)
        t0 = time.perf_counter()
        target_tokens, general_seconds, general_images = self.general_tokens(target)
        view = TaskView(target.name, target_tokens)
        first = spider.predict(view).reindex(self.members)
        rank_seconds = time.perf_counter() - t0 + general_seconds
        out = [Selection("spider (no rerank)", first, rank_seconds, general_images,
                         {"fit_seconds": round(fit_seconds, 3), "train_tasks": len(train_tasks)})]

        order = list(sort_scores(first).index)
        candidates = order[: self.top_k]
        t0 = time.perf_counter()
        probe = {m: self.extra_tokens(m, target) for m in candidates}
        second = spider.predict(TaskView(target.name, target_tokens,
                                         standardise_across({m: v[0] for m, v in probe.items()})))
        # the re-ranked top-k keep their places above the rest; within them, the new order
        top = sort_scores(second[candidates])
        reranked = pd.Series(np.arange(len(order), 0, -1, dtype=float),
                             index=list(top.index) + order[self.top_k:]).reindex(self.members)
        probe_seconds = sum(v[1] for v in probe.values())
        out.insert(0, Selection("spider", reranked,
                                rank_seconds + time.perf_counter() - t0 + probe_seconds,
                                general_images + sum(v[2] for v in probe.values()),
                                {"fit_seconds": round(fit_seconds, 3), "candidates": candidates,
                                 "train_tasks": len(train_tasks)}))
        return out

    def run(self, task: str, methods: Sequence[str] = METHODS) -> list[dict]:
        """One record per method for one target task."""
        spec = self.specs.get(task)
        if spec is None:
            raise SpiderError(f"no ground truth for image task {task!r} in this zoo's table")
        truth = self.truth_for(task)
        if truth.isna().any():
            raise SpiderError(f"{task}: ground truth lacks {', '.join(truth.index[truth.isna()])}")
        target = self.target(spec)
        selections = []
        if any(m.startswith("spider") for m in methods):
            selections += [s for s in self.spider(target) if s.method in methods]
        selections += self.estimators(target, [m for m in ESTIMATORS.names() if m in methods])
        full = sum(self.features(m, target).seconds for m in self.members)
        records = []
        for s in selections:
            ranked = sort_scores(s.scores)
            t, p = truth.to_numpy(), s.scores.reindex(truth.index).to_numpy()
            records.append({
                "task": task, "method": s.method,
                "weighted_tau": round(weighted_tau(t, p), 4),
                "top1_regret": round(top1_regret(t, p), 4),
                "selected": ranked.index[0], "selected_accuracy": round(float(truth[ranked.index[0]]), 4),
                "best": truth.idxmax(), "best_accuracy": round(float(truth.max()), 4),
                "seconds": round(s.seconds, 3), "images_forwarded": int(s.images_forwarded),
                "share_of_all_features": round(s.seconds / full, 4) if full else None,
                "ranking": list(ranked.index), **s.extra,
            })
            self.log(f"{task:20s} {s.method:20s} τ={records[-1]['weighted_tau']:+.3f} "
                     f"regret={records[-1]['top1_regret']:.3f} {s.seconds:7.1f}s")
        return records


def summarize(records: Sequence[dict]) -> pd.DataFrame:
    """Mean over tasks per method, best first by weighted τ."""
    df = pd.DataFrame(records)
    out = (df.groupby("method", sort=False)
             .agg(tasks=("task", "nunique"), weighted_tau=("weighted_tau", "mean"),
                  top1_regret=("top1_regret", "mean"), selected_accuracy=("selected_accuracy", "mean"),
                  seconds=("seconds", "mean"), images_forwarded=("images_forwarded", "mean"))
             .reset_index())
    return out.sort_values("weighted_tau", ascending=False, kind="stable").reset_index(drop=True)


def default_targets() -> list[str]:
    return list(NAMED)
