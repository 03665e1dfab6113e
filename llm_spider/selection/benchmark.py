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
from llm_spider.selection.fixed import select_fixed
from llm_spider.selection.labelfree import ConsensusEvaluator, panel
from llm_spider.selection.prior import ESTIMATES, NEEDS_ITEMS, NEEDS_TOKENS, calibrate, choose, estimate

PRIOR_ONLY = ("leaderboard", "similar-tasks", "spider", "items")
RERANKS = tuple(f"rerank-k{k}-n{n}" for k in (3, 5) for n in (8, 16))
PROBES = 16  # items per candidate of probes-only, the paper's scale of probing
RERANK_PRIOR = "spider"  # the paper re-ranks the Spider's top k
LABEL_FREE_PRIOR = "leaderboard"  # adaptive-label-free: its prior, and the panel it takes from it
DEFAULT = "adaptive-auto"  # what `select` does by default
# The fixed-budget methods again, each run given exactly what the default spent on the same target,
# member set and seed: probes-only on that many items per candidate, the Spider's top 5 on a fifth each.
MATCHED = ("probes-matched", "rerank-k5-matched")
METHODS = ("brute-force", *PRIOR_ONLY, *RERANKS, "probes-only", "adaptive-flat", "adaptive-leaderboard",
           "adaptive-spider", "adaptive-items", DEFAULT, *MATCHED, "adaptive-label-free")
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


def priors_needed(methods: Sequence[str]) -> list[str]:
    """The prior estimates ``methods`` read (each computed and calibrated once per target task)."""
    need = {m.removeprefix("adaptive-") for m in methods if m in PRIOR_ONLY or m.startswith("adaptive-")}
    if "auto" in need:
        need |= set(ESTIMATES)
    if any(m in RERANKS or m in MATCHED for m in methods):
        need.add(RERANK_PRIOR)
    if any(m in MATCHED for m in methods):
        need |= set(ESTIMATES)  # they run the default first, to know its budget
    if "adaptive-label-free" in methods:
        need.add(LABEL_FREE_PRIOR)
    return [p for p in PRIOR_ONLY if p in need]


def servable(zoo, methods: Sequence[str]) -> tuple[list[str], list[str]]:
    """The methods ``zoo`` can serve, and a note for each one left out: label-free selection needs
    the option each member chose (a ``pred`` column); the priors that read questions need their text
    (and with them the re-ranks, ``auto``'s candidates aside)."""
    has_pred = "pred" in zoo.results.columns
    has_text = "question" in zoo.questions.columns
    kept, notes = [], []
    for m in methods:
        prior = m.removeprefix("adaptive-")
        if m == "adaptive-label-free" and not has_pred:
            notes.append(f"{m} left out: zoo '{zoo.name}' keeps no 'pred' column (the option each member chose)")
        elif not has_text and (prior in (*NEEDS_TOKENS, *NEEDS_ITEMS) and prior != "auto" or m in RERANKS
                               or m == "rerank-k5-matched"):
            notes.append(f"{m} left out: zoo '{zoo.name}' has no question text to read")
        else:
            kept.append(m)
    return kept, notes


def _method(method: str, evaluator, task: str, members: list[str], truth: pd.Series, est: dict, cal: dict,
            brute: int, epsilon: float, confidence: float, seed: int, budget: int | None = None) -> dict:
    """One method's record on one target: the pick, the scores it ranks by, what it spent.
    ``budget``: for the matched methods, what the default spent on the same run."""
    if method == "brute-force":
        return _record(truth, str(truth.idxmax()), truth, brute, brute, epsilon)
    if method in PRIOR_ONLY:
        scores = est[method].reindex(members)
        return _record(truth, str(scores.idxmax()), scores, 0, brute, epsilon)
    if method == "probes-only":
        pick, scores, spent = select_fixed(evaluator, task, members, PROBES, seed=seed)
        return _record(truth, pick, scores, spent, brute, epsilon)
    if method in MATCHED:
        k = None if method == "probes-matched" else 5
        n = max(1, int(budget) // (len(members) if k is None else min(k, len(members))))
        c = cal[RERANK_PRIOR]
        prior = None if k is None else est[RERANK_PRIOR]
        pick, scores, spent = select_fixed(evaluator, task, members, n, k, prior, c.strength, c.shift_var, seed)
        return _record(truth, pick, scores, spent, brute, epsilon)
    if method in RERANKS:
        k, n = (int(part[1:]) for part in method.split("-")[1:])
        c = cal[RERANK_PRIOR]
        pick, scores, spent = select_fixed(evaluator, task, members, n, k, est[RERANK_PRIOR], c.strength,
                                           c.shift_var, seed)
        return _record(truth, pick, scores, spent, brute, epsilon)
    if method == "adaptive-label-free":
        c, mu = cal[LABEL_FREE_PRIOR], est[LABEL_FREE_PRIOR]
        blind = ConsensusEvaluator(evaluator, panel(mu, members))
        res = select_adaptive(blind, task, members, mu, c.strength, c.shift_var, c.outlier_share, epsilon=epsilon,
                              confidence=confidence, seed=seed)
        return _record(truth, res.pick, res.mean, blind.unique_evaluations, brute, epsilon)
    prior = method.removeprefix("adaptive-")
    if prior == "auto":
        prior = choose(cal)  # by the calibrations on the history, made above
    informed = prior != "flat"
    res = select_adaptive(evaluator, task, members, est[prior] if informed else None,
                          cal[prior].strength if informed else 0.0, cal[prior].shift_var if informed else None,
                          cal[prior].outlier_share if informed else 0.0, epsilon=epsilon, confidence=confidence,
                          seed=seed)
    return _record(truth, res.pick, res.mean, res.evaluations, brute, epsilon)


def _target(zoo, level: str, task: str, jobs: list, methods: Sequence[str], seeds: Sequence[int],
            priors: list[str], tokens, epsilon: float, confidence: float, items=None) -> list[dict]:
    """Every record of one left-out task: its priors estimated and calibrated once, then each member
    set, seed and method."""
    history = zoo.history(level)
    evaluator = RecordedEvaluator(zoo, level)
    others = history.drop_tasks([task])
    est = {p: estimate(p, others, task, tokens, items=items) for p in priors}
    cal = {p: calibrate(others, p, tokens, items=items) for p in priors}
    wide, records = history.wide(), []
    for set_name, zoo_index, cands in jobs:
        truth = wide[task].reindex(cands).dropna()
        if len(truth) < 2:
            raise SpiderError(f"fewer than two members with a recorded accuracy on {task}")
        members = list(truth.index)
        brute = len(members) * len(evaluator.items(task))
        base = {"zoo": zoo.name, "level": level, "members": set_name, "zoo_index": zoo_index, "task": task}
        for seed in seeds:
            spent_by_default = None
            for method in methods:
                if method in MATCHED and spent_by_default is None:
                    spent_by_default = _method(DEFAULT, evaluator, task, members, truth, est, cal, brute, epsilon,
                                               confidence, seed)["evaluations"]
                t0 = time.perf_counter()
                rec = _method(method, evaluator, task, members, truth, est, cal, brute, epsilon, confidence, seed,
                              spent_by_default)
                if method == DEFAULT:
                    spent_by_default = rec["evaluations"]
                records.append({**base, "method": method, "seed": seed, **rec, "seconds": time.perf_counter() - t0})
    return records


def _one_thread() -> None:
    """Worker start-up: one torch thread each, so two workers on two cores do not fight."""
    import torch

    torch.set_num_threads(1)


def run(zoo, level: str | None = None, sets: Sequence[str] = ("all",), methods: Sequence[str] = METHODS,
        seeds: Sequence[int] = (0,), epsilon: float = 0.02, confidence: float = 0.95, tokens=None,
        workers: int = 1, progress: Progress = SILENT, items=None) -> list[dict]:
    """Every method on every task of ``zoo`` (a RecordedZoo) at ``level``, for each member set and seed.
    ``tokens``: task -> general tokens of the zoo's tasks, needed by the similar-tasks and Spider
    priors; ``items``: the zoo's per-item data at ``level`` (ranking.items.ItemData), needed by the
    item-level prior (without either, ``auto`` chooses among the estimates it has). Each prior is
    estimated and calibrated once per target, on the other tasks' history of
    every member; a member set only picks candidates from it. ``workers`` > 1 runs targets in that
    many processes (each target is independent; records come back in task order)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UnknownNameError("selection method", unknown[0], METHODS)
    level = level or zoo.levels[0]
    tasks = list(zoo.history(level).wide().columns)
    priors = priors_needed(methods)
    # auto (and the matched methods, which run it) consider only the estimates the zoo can give
    missing = {*(NEEDS_ITEMS if items is None else ()), *(("similar-tasks", "spider") if tokens is None else ())}
    named = {m.removeprefix("adaptive-") for m in methods}
    if any(m in RERANKS or m in MATCHED for m in methods):
        named.add(RERANK_PRIOR)
    priors = [p for p in priors if p not in missing or p in named]
    if items is None and any(p in NEEDS_ITEMS for p in priors):
        raise SpiderError(f"the {', '.join(p for p in priors if p in NEEDS_ITEMS)} prior(s) need the zoo's per-item data")
    if tokens is None and any(p in NEEDS_TOKENS for p in priors):
        raise SpiderError(f"the {', '.join(p for p in priors if p in NEEDS_TOKENS)} prior(s) need the tasks' tokens")
    jobs = [(s, i, cands) for s in sets for i, cands in enumerate(member_sets(zoo.members, s))]
    args = (jobs, list(methods), list(seeds), priors, tokens, epsilon, confidence, items)
    done: dict[str, list[dict]] = {}
    with progress.bar(f"select benchmark ({zoo.name}, {level})", len(tasks)) as bar:
        if workers <= 1:
            for task in tasks:
                done[task] = _target(zoo, level, task, *args)
                bar.advance()
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            ctx = multiprocessing.get_context("spawn")  # torch is loaded: a forked copy may hang
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_one_thread) as pool:
                futures = {pool.submit(_target, zoo, level, task, *args): task for task in tasks}
                for future in as_completed(futures):
                    done[futures[future]] = future.result()
                    bar.advance()
    return [r for task in tasks for r in done[task]]


POOLED = ("evaluations", "brute_force", "cost_share", "eps_good", "top1_regret", "weighted_tau", "seconds")


def pool_zoos(records: Sequence[dict]) -> list[dict]:
    """The records as written: a member set of several zoos (sub12) pooled into one record per
    level, task, method and seed, its fields the means over the zoos (``eps_good`` becomes the share
    of them) and ``runs`` their number, so the file stays a few MB; single-zoo sets are kept as they
    are, with ``runs`` 1. ``summarize`` and ``paired`` give the same on either form."""
    df = pd.DataFrame(records).assign(order=lambda d: np.arange(len(d)))  # the pooled keep their first's place
    if "runs" not in df:
        df["runs"] = 1
    if "tau_runs" not in df:  # τ is undefined (NaN) where a method's scores are all tied
        df["tau_runs"] = df["weighted_tau"].notna().astype(int) * df["runs"]
    many = (df.groupby(["level", "members"])["zoo_index"].transform("nunique") > 1).to_numpy()
    keys = [k for k in ("zoo", "level", "members", "task", "method", "seed") if k in df]
    pooled = df[many].groupby(keys, sort=False).agg(
        **{k: (k, "mean") for k in POOLED}, runs=("runs", "sum"), tau_runs=("tau_runs", "sum"),
        order=("order", "min")).reset_index().assign(zoo_index="all")
    out = [(i, {**rec, "runs": int(df["runs"].iat[i]), "tau_runs": int(df["tau_runs"].iat[i])})
           for i, rec in enumerate(records) if not many[i]]
    out += [(int(r.pop("order")), r) for r in pooled.to_dict("records")]
    return [rec for _, rec in sorted(out, key=lambda pair: pair[0])]


def summarize(records: Sequence[dict]) -> pd.DataFrame:
    """Per level, member set and method: ε-good rate, mean cost share, mean regret, mean τ, runs
    (each record weighted by the runs it stands for)."""
    df = pd.DataFrame(records)
    if "runs" not in df:
        df["runs"] = 1
    if "tau_runs" not in df:
        df["tau_runs"] = df["weighted_tau"].notna().astype(int) * df["runs"]
    df["eps_good"] = df["eps_good"].astype(float)
    cols = ["eps_good", "cost_share", "top1_regret"]
    weighted = df[cols].mul(df["runs"], axis=0).assign(
        weighted_tau=df["weighted_tau"].fillna(0.0) * df["tau_runs"], runs=df["runs"], tau_runs=df["tau_runs"])
    keys = ["level", "members", "method"]
    sums = pd.concat([df[keys], weighted], axis=1).groupby(keys, sort=False).sum()
    out = sums[cols].div(sums["runs"], axis=0)
    out["weighted_tau"] = sums["weighted_tau"] / sums["tau_runs"].where(sums["tau_runs"] > 0)
    return out.assign(runs=sums["runs"].astype(int)).reset_index()


HIGHER_IS_BETTER = ("weighted_tau", "eps_good")


def paired(records: Sequence[dict], method: str = "adaptive-spider", against: str = "adaptive-leaderboard",
           metrics: Sequence[str] = ("cost_share", "top1_regret")) -> pd.DataFrame:
    """``method`` minus ``against`` per level and member set, for each of ``metrics``: each task's
    difference averaged over seeds (and sub-zoos), then the mean over tasks with its 95 % paired
    bootstrap interval, and the tasks on which ``method`` does better (costs or loses less; for τ
    and the ε-good rate, more), ties, worse."""
    from llm_spider.metrics import paired_bootstrap

    df = pd.DataFrame(records)
    if "eps_good" in df:
        df["eps_good"] = df["eps_good"].astype(float)
    rows = []
    for (level, members), group in df.groupby(["level", "members"], sort=False):
        for metric in metrics:
            table = group.pivot_table(index="task", columns="method", values=metric, aggfunc="mean")
            if method not in table or against not in table:
                continue
            d = (table[method] - table[against]).dropna()
            if len(d) < 2:
                continue
            mean, low, high = paired_bootstrap(d.to_numpy())
            gain = d if metric in HIGHER_IS_BETTER else -d
            rows.append({"level": level, "members": members, "metric": metric, "tasks": len(d), "mean_difference": mean,
                         "ci95_low": low, "ci95_high": high, "better": int((gain > 1e-12).sum()),
                         "ties": int((d.abs() <= 1e-12).sum()), "worse": int((gain < -1e-12).sum())})
    return pd.DataFrame(rows)
