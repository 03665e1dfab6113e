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
                 on_fold: Callable[[], None] | None = None) -> tuple[dict, list[dict]]:
    """Fit and rank every fold of ``protocol`` with one method and seed; returns summary and folds."""
    folds_out = []
    seconds = 0.0
    for fold in protocol.folds(history):
        train = history.subset(models=fold.models, tasks=fold.train_tasks)
        truth = history.wide().loc[list(fold.models), fold.target]
        start = time.perf_counter()
        ranker = make_ranker(method, random_state=seed)
        ranker.fit(train, task_tokens if ranker.needs_task_tokens else None)
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
                  seeds: Iterable[int], task_tokens: Mapping[str, np.ndarray],
                  on_fold: Callable[[], None] | None = None) -> BenchmarkResult:
    result = BenchmarkResult()
    for protocol in protocols:
        if not protocol.applies_to(history):
            result.skipped.append(f"{protocol.name}: the history has too few tasks or complete models for it")
            continue
        for method in methods:
            needs_tokens = method_class(method).needs_task_tokens
            for seed in seeds:
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


def count_folds(history: History, protocols: Iterable[Protocol], methods: list[str], seeds: list[int]) -> int:
    return sum(len(protocol.split(history)[1]) * len(methods) * len(seeds)
               for protocol in protocols if protocol.applies_to(history))
