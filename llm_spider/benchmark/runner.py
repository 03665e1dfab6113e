"""Run rankers through protocols and summarise them: one record per (protocol, method, seed)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from llm_spider.benchmark.protocols import Protocol
from llm_spider.metrics import evaluate_ranking
from llm_spider.ranking import TaskView, make_ranker, method_class
from llm_spider.zoo.history import History

# The record fields other tools read; more keys may follow, these stay.
RECORD_FIELDS = ("protocol", "method", "seed", "weighted_tau", "top1_regret", "top1_hit", "seconds")


@dataclass
class BenchmarkResult:
    records: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.records)


def run_protocol(history: History, protocol: Protocol, method: str, seed: int,
                 task_tokens: Mapping[str, np.ndarray],
                 on_fold: Callable[[], None] | None = None,
                 params: Mapping | None = None) -> tuple[dict, list[dict]]:
    """Fit and rank every fold of ``protocol`` with one method and seed; returns summary and folds.

    ``params`` are the method's hyper-parameters (defaults where not given)."""
    folds_out = []
    seconds = 0.0
    fitted_on, ranker = None, None  # consecutive folds with the same training set share one fit
    for fold in protocol.folds(history):
        truth = history.wide().loc[list(fold.models), fold.target]
        start = time.perf_counter()
        if fitted_on != (fold.train_tasks, fold.models):
            train = history.subset(models=fold.models, tasks=fold.train_tasks)
            ranker = make_ranker(method, random_state=seed, **dict(params or {}))
            ranker.fit(train, task_tokens if ranker.needs_task_tokens else None)
            fitted_on = (fold.train_tasks, fold.models)
        pred = ranker.predict(TaskView(fold.target, task_tokens.get(fold.target)))
        seconds += time.perf_counter() - start
        pred = pred.reindex(truth.index)
        # A model the method cannot score is ranked last, as a user of the ranking would see it.
        pred = pred.fillna(pred.min() - 1.0 if pred.notna().any() else 0.0)
        metrics = evaluate_ranking(truth.to_numpy(), pred.to_numpy())
        folds_out.append({"protocol": protocol.name, "method": method, "seed": seed,
                          "target": fold.target, "n_models": len(fold.models), **metrics})
        if on_fold:
            on_fold()
    frame = pd.DataFrame(folds_out)
    summary = {
        "protocol": protocol.name, "method": method, "seed": seed,
        "weighted_tau": float(frame["weighted_tau"].mean()),
        "top1_regret": float(frame["top1_regret"].mean()),
        "top1_hit": float(frame["top1_hit"].mean()),
        "seconds": round(seconds, 4),
        "weighted_tau_sd": float(frame["weighted_tau"].std(ddof=0)),
        "kendall_tau": float(frame["kendall_tau"].mean()),
        "ndcg@5": float(frame["ndcg@5"].mean()),
        "n_folds": len(frame), "n_models": int(frame["n_models"].iloc[0]),
    }
    return summary, folds_out


def run_benchmark(history: History, protocols: Iterable[Protocol], methods: Iterable[str],
                  seeds: Iterable[int] | Mapping[str, Iterable[int]], task_tokens: Mapping[str, np.ndarray],
                  on_fold: Callable[[], None] | None = None) -> BenchmarkResult:
    """Every method through every protocol; ``seeds`` is one list for all or a list per method."""
    result = BenchmarkResult()
    methods = list(methods)
    per_method = {m: list(seeds[m] if isinstance(seeds, Mapping) else seeds) for m in methods}
    for protocol in protocols:
        if not protocol.applies_to(history):
            result.skipped.append(f"{protocol.name}: the history has too few tasks or complete models for it")
            continue
        for method in methods:
            needs_tokens = method_class(method).needs_task_tokens
            for seed in per_method[method]:
                if needs_tokens and not _has_tokens(history, protocol, task_tokens):
                    result.skipped.append(f"{protocol.name}/{method}: needs prompts for the tasks, "
                                          "and some tasks are not known tasks")
                    break
                summary, _ = run_protocol(history, protocol, method, seed, task_tokens, on_fold)
                result.records.append(summary)
    return result


def _has_tokens(history: History, protocol: Protocol, task_tokens: Mapping[str, np.ndarray]) -> bool:
    pool, targets, _ = protocol.split(history)
    return all(t in task_tokens for t in targets) and any(t in task_tokens for t in pool)


def count_folds(history: History, protocols: Iterable[Protocol], seeds: Mapping[str, list[int]]) -> int:
    """Folds a benchmark will run: targets × (method, seed) pairs, over the applicable protocols."""
    runs = sum(len(s) for s in seeds.values())
    return sum(len(protocol.split(history)[1]) * runs for protocol in protocols if protocol.applies_to(history))


def summarize(records: list[dict]) -> pd.DataFrame:
    """One row per (protocol, method): means over seeds, with the seeds' standard deviation."""
    df = pd.DataFrame(records)
    g = df.groupby(["protocol", "method"], sort=False)
    out = g.agg(weighted_tau=("weighted_tau", "mean"), weighted_tau_sd=("weighted_tau", lambda x: x.std(ddof=0)),
                top1_regret=("top1_regret", "mean"), top1_regret_sd=("top1_regret", lambda x: x.std(ddof=0)),
                top1_hit=("top1_hit", "mean"), seconds=("seconds", "mean"), seeds=("seed", "size"),
                n_folds=("n_folds", "first"), n_models=("n_models", "first"))
    return out.reset_index()
