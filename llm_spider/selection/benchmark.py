"""`benchmark select`: selection methods on a recorded zoo, each task left out in turn.

For a target task the history is the zoo's other tasks (no target item or score is used before it
is evaluated); the truth is the members' recorded accuracy on the whole target. Member sets: ``all``,
``open`` (the members not in ``CLOSED``: mmlu-pro's API models) and ``sub12`` (20 seeded
random zoos of 12 members), so that a prior is also judged where its pick is not the best.

Records: ``zoo, level, members, method, seed, task, evaluations, brute_force, cost_share, eps_good,
top1_regret, weighted_tau, seconds`` (and ``pick``, ``zoo_index``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.metrics import weighted_tau
from llm_spider.progress import SILENT, Progress
from llm_spider.selection.adaptive import select_adaptive
from llm_spider.selection.evaluators import RecordedEvaluator
from llm_spider.selection.prior import calibrate, leaderboard_prior

METHODS = ("brute-force", "leaderboard", "adaptive-flat", "adaptive-leaderboard")
MEMBER_SETS = ("all", "open", "sub12")
# mmlu-pro's members whose weights are not public (API models); every other member's are.
CLOSED = ("gemini-1.5-flash-002", "gemini-1.5-pro-002", "gemini-3.1-pro", "gpt-4o-2024-05-13")
SUB_ZOOS, SUB_SIZE = 20, 12


def member_sets(members: Sequence[str], name: str, seed: int = 2026) -> list[list[str]]:
    """The candidate lists of a member set: one for ``all`` and ``open``, 20 seeded ones for ``sub12``."""
    if name == "all":
        return [list(members)]
    if name == "open":
        return [[m for m in members if m not in CLOSED]]
    if name == "sub12":
        rng = np.random.default_rng(seed)
        return [sorted(rng.choice(list(members), size=min(SUB_SIZE, len(members)), replace=False)) for _ in range(SUB_ZOOS)]
    raise UnknownNameError("member set", name, MEMBER_SETS)


def _record(truth: pd.Series, pick: str, scores: pd.Series, evaluations: int, brute: int, epsilon: float) -> dict:
    best = float(truth.max())
    both = pd.concat([truth, scores], axis=1, keys=["t", "s"]).dropna()
    return {"pick": pick, "evaluations": int(evaluations), "brute_force": int(brute),
            "cost_share": evaluations / brute, "eps_good": bool(truth[pick] >= best - epsilon),
            "top1_regret": best - float(truth[pick]),
            "weighted_tau": weighted_tau(both["t"], both["s"]) if len(both) > 1 else float("nan")}


def run(zoo, level: str | None = None, sets: Sequence[str] = ("all",), methods: Sequence[str] = METHODS,
        seeds: Sequence[int] = (0,), epsilon: float = 0.02, confidence: float = 0.95,
        progress: Progress = SILENT) -> list[dict]:
    """Every method on every task of ``zoo`` (a RecordedZoo) at ``level``, for each member set and seed."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UnknownNameError("selection method", unknown[0], METHODS)
    level = level or zoo.levels[0]
    history = zoo.history(level)
    evaluator = RecordedEvaluator(zoo, level)
    wide = history.wide()
    jobs = [(s, i, cands) for s in sets for i, cands in enumerate(member_sets(zoo.members, s))]
    records = []
    with progress.bar(f"select benchmark ({zoo.name}, {level})", len(jobs) * len(wide.columns) * len(seeds)) as bar:
        for set_name, zoo_index, cands in jobs:
            for task in wide.columns:
                truth = wide[task].reindex(cands).dropna()
                if len(truth) < 2:
                    raise SpiderError(f"fewer than two members with a recorded accuracy on {task}")
                members = list(truth.index)
                others = history.drop_tasks([task]).subset(models=members)
                prior = leaderboard_prior(others, task)
                cal = calibrate(others)
                brute = len(members) * len(evaluator.items(task))
                base = {"zoo": zoo.name, "level": level, "members": set_name, "zoo_index": zoo_index, "task": task}
                for seed in seeds:
                    for method in methods:
                        t0 = time.perf_counter()
                        if method == "brute-force":
                            rec = _record(truth, str(truth.idxmax()), truth, brute, brute, epsilon)
                        elif method == "leaderboard":
                            rec = _record(truth, str(prior.reindex(members).idxmax()), prior, 0, brute, epsilon)
                        else:
                            informed = method == "adaptive-leaderboard"
                            res = select_adaptive(evaluator, task, members, prior if informed else None,
                                                  cal.strength if informed else 0.0, cal.shift_var,
                                                  epsilon=epsilon, confidence=confidence, seed=seed)
                            rec = _record(truth, res.pick, res.mean, res.evaluations, brute, epsilon)
                        records.append({**base, "method": method, "seed": seed, **rec,
                                        "seconds": time.perf_counter() - t0})
                    bar.advance()
    return records


def summarize(records: Sequence[dict]) -> pd.DataFrame:
    """Per level, member set and method: ε-good rate, mean cost share, mean regret, mean τ, runs."""
    df = pd.DataFrame(records)
    out = df.groupby(["level", "members", "method"], sort=False).agg(
        eps_good=("eps_good", "mean"), cost_share=("cost_share", "mean"), top1_regret=("top1_regret", "mean"),
        weighted_tau=("weighted_tau", "mean"), runs=("task", "size"))
    return out.reset_index()
