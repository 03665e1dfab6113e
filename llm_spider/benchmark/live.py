"""`compare`: every selection method on a live zoo, side by side, with the compute each one spends.

For a target task the ground truth is the zoo's measured accuracy on the whole task (`evaluate`).
Rankers that learn from the history see the local history without the target's own tasks
(leave-one-task-out). Methods that run models run them for real here, on the target's probe items:
the Spider re-ranks only its top-k candidates (k × probes forward passes), the self-assessment
baselines run every model (on the probes, or once on a rating prompt), brute force runs every
model on every item. Forward passes count prompts through zoo models; seconds are wall time
(model loading included for methods that run models); the sentence encoder's time is reported
beside them, since it is spent once per task and shared by the encoder-based methods.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.metrics import paired_bootstrap, top1_regret, weighted_tau
from llm_spider.progress import SILENT, Progress
from llm_spider.ranking.base import TaskView, sort_scores
from llm_spider.ranking.probes import (
    features_from_items,
    probe_features,
    stored_probe_rows,
)
from llm_spider.ranking.rerank import (
    DEFAULT_FEATURES,
    ProbeEvidenceReranker,
    probe_accuracy,
    probe_stats,
)
from llm_spider.ranking.spider.presets import LIVE_SIMILARITY, PRESETS
from llm_spider.tasks import REGISTRY
from llm_spider.tasks.base import Task
from llm_spider.zoo.evaluate import (
    SHIPPED_LOCAL_DIR,
    LocalStore,
    probe_items,
    scoring_items,
)
from llm_spider.zoo.history import History

DEFAULT_TOP_K = 2
DEFAULT_PROBES = 16
# The Spider's live-zoo preset (ranking/spider/presets.py); the evidence re-rank weighs probes
# against the same prior (LIVE_SIMILARITY).
LIVE_SPIDER = PRESETS["live"]
PROFILE_BASELINE = "similar-tasks (+profile)"
METHODS = ("spider+rerank", "spider+evidence", "spider", "similar-tasks", PROFILE_BASELINE, "leaderboard",
           "self-assessed (probe confidence)", "self-assessed (verbal)", "brute force (probes)", "brute force")


def local_results(user_dir: Path | None, shipped_dir: Path | None = SHIPPED_LOCAL_DIR, allow_empty: bool = False
                  ) -> tuple[History, pd.DataFrame]:
    """A zoo's shipped results with the user's own (`evaluate`) on top: a user's row for the same
    model and task replaces the shipped one."""
    frames, items = [], []
    for root in (shipped_dir, user_dir):
        if root is None:
            continue
        store = LocalStore(root)
        frames.append(store.history_frame())
        items.append(store.items_frame())
    hist = pd.concat(frames, ignore_index=True).drop_duplicates(["model", "task"], keep="last")
    items_df = pd.concat(items, ignore_index=True).drop_duplicates(["model", "task", "item"], keep="last")
    if hist.empty and not allow_empty:
        raise SpiderError("no local-zoo results: run `llm-spider evaluate --task-set` first")
    return History(hist), items_df


@dataclass
class ProbeRun:
    """What one model's live run on the probes produced, and what it cost."""

    logprobs: list[np.ndarray] | None  # None: generated answers (no option scores)
    mass: list[float]
    verbal: float
    load_seconds: float
    probe_seconds: float
    verbal_seconds: float
    probe_passes: int
    correct: list[float] | None = None  # per probe, where read from generated answers


def run_probes(members, target: Task, n_probes: int, loader: Callable, log: Callable[[str], None] = lambda s: None,
               progress: Progress = SILENT, scoring=None) -> tuple[dict[str, ProbeRun], list]:
    """Load each member once and run it on the target's probes (in the run's scoring mode) and on the
    verbal self-rating prompt."""
    from llm_spider.baselines.self_assessed import verbal_rating
    from llm_spider.executors.local import run_backend
    from llm_spider.tasks.scoring import task_scoring

    mode, gen = task_scoring(target, scoring)
    probes = probe_items(target, n_probes, 0, mode, gen)
    examples = [p.prompt for p in probes[:3]]
    runs = {}
    for m in members:
        t0 = time.perf_counter()
        backend = loader(m)
        t1 = time.perf_counter()
        with progress.bar(f"{m.name} · {len(probes)} probes of {target.name}", len(probes)) as bar:
            logprobs, mass, _ = run_backend(backend, probes, bar.advance)
        logprobs, correct = probe_outcomes(probes, logprobs)
        t2 = time.perf_counter()
        with progress.bar(f"{m.name} · rating itself"):
            verbal = verbal_rating(backend, examples, target.topic)
        t3 = time.perf_counter()
        backend.close()
        # A backend reused across targets (the benchmark) reports its one-time load cost, so every
        # target is charged for loading the models it runs.
        load = float(getattr(backend, "load_seconds", t1 - t0))
        runs[m.name] = ProbeRun(logprobs, list(mass), verbal, load, t2 - t1, t3 - t2, len(probes), correct)
        log(f"{m.name}: {len(probes)} probes in {t2 - t1:.1f} s (load {load:.1f} s), self-rating {verbal:.2f}/9")
    return runs, probes


def probe_outcomes(probes: list, outputs: list) -> tuple[list[np.ndarray] | None, list[float] | None]:
    """Probe outputs as the methods read them: option scores as a distribution over the options
    (continuation scores normalised like letter ones), or, for generated answers, no scores and
    each probe's correctness."""
    from llm_spider.backends.base import log_softmax
    from llm_spider.tasks.scoring import decision_scores, item_correct

    if probes and probes[0].mode == "generate":
        return None, [float(item_correct(p, {"text": t})) for p, t in zip(probes, outputs)]
    if probes and probes[0].mode != "letter":
        return [log_softmax(decision_scores(p, lp)) for p, lp in zip(probes, outputs)], None
    return [np.asarray(lp, dtype=np.float64) for lp in outputs], None


def stored_probe_runs(items: pd.DataFrame, members: Sequence[str], target: Task, n_probes: int
                      ) -> tuple[dict[str, ProbeRun], list]:
    """What `run_probes` would produce, read from stored per-item results instead of running models
    (a replay: same probes, same log-probs; no seconds, no verbal rating). Needs every member's
    stored result on every probe of the target."""
    probes = probe_items(target, n_probes)
    stored = stored_probe_rows(items, members, target.name, [p.index for p in probes])
    missing = [m for m in members if m not in stored]
    if missing:
        raise SpiderError(f"no stored result of {missing[0]} on every probe of '{target.name}': replay needs "
                          f"`llm-spider evaluate --task {target.name} --models {','.join(missing)}`")
    runs = {m: ProbeRun([np.asarray(x, dtype=np.float64) for x in g["logprobs"]], g["mass"].astype(float).tolist(),
                        float("nan"), 0.0, 0.0, 0.0, len(probes)) for m, g in stored.items()}
    return runs, probes


@dataclass
class Selection:
    method: str
    order: list[str]  # best first
    forward_passes: int
    seconds: float
    notes: dict = field(default_factory=dict)


def _order(scores: pd.Series) -> list[str]:
    return list(sort_scores(scores).index)


def select_all(target: Task, members: Sequence[str], history: History, items: pd.DataFrame,
               tokens: dict[str, np.ndarray], runs: dict[str, ProbeRun], probes: list, *, top_k: int,
               n_probes: int, seed: int = 0, evidence_features: Sequence[str] = DEFAULT_FEATURES,
               with_history: bool = True) -> list[Selection]:
    """Every method's ranking of ``members`` for ``target`` from the (target-free) ``history``;
    ``evidence_features``: what spider+evidence weighs (see ranking/rerank.py). Without a history
    (``with_history`` False: a zoo of the user's members never evaluated on other tasks) only the
    methods that run the members are there."""
    from llm_spider.baselines import SimilarTasksRanker
    from llm_spider.ranking import RANKERS
    from llm_spider.ranking.spider import SpiderRanker

    exclude = tuple(target.parts)
    train = history.drop_tasks(exclude).subset(models=members)
    view = TaskView(target.name, tokens[target.name], exclude=exclude)
    task_tokens = {t: tokens[t] for t in train.tasks if t in tokens}
    answers = [p.answer for p in probes]
    generated = any(r.logprobs is None for r in runs.values())
    if not with_history:
        return _running_methods(members, runs, answers)
    out = []

    # Every registered history baseline, with its defaults, in its compare_order.
    classes = [RANKERS.get(n) for n in RANKERS.names()]
    baselines = sorted((c for c in classes if c.compare_order is not None), key=lambda c: c.compare_order)
    for cls in baselines:
        t0 = time.perf_counter()
        ranker = cls().fit(train, task_tokens if cls.needs_task_tokens else None)
        out.append(Selection(cls.name, _order(ranker.predict(view)), 0, time.perf_counter() - t0))

    # Not a baseline of the paper: the similar-tasks estimate with the Spider's own task similarity,
    # shown so that what the similarity buys and what the Spider adds to it can be told apart.
    t0 = time.perf_counter()
    sp = SimilarTasksRanker(similarity=LIVE_SIMILARITY).fit(train, task_tokens).predict(view)
    out.append(Selection(PROFILE_BASELINE, _order(sp), 0, time.perf_counter() - t0))

    # The Spider learns the PTM-specific tokens from the history's own per-item runs on each
    # history task's probes, then ranks the target without them, and re-ranks its top-k with them.
    t0 = time.perf_counter()
    extra_train = {}
    for t in train.tasks:
        if t in REGISTRY:
            idx = [p.index for p in probe_items(REGISTRY.get(t), n_probes)]
            extra_train[t] = features_from_items(items, members, t, idx)
    spider = SpiderRanker(random_state=seed, **LIVE_SPIDER).fit(train, task_tokens, extra_tokens=extra_train)
    fit_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = spider.predict(view)
    first_order = _order(first)
    rank_seconds = time.perf_counter() - t0
    out.append(Selection("spider", first_order, 0, fit_seconds + rank_seconds, {"fit_seconds": fit_seconds}))

    if generated:  # the re-rankers read option scores, which generated answers do not have
        return out + _running_methods(members, runs, answers)

    # Re-ranking: the top-k candidates run on the target's probes; their cost is charged to both
    # re-rank rows, which share the runs. "spider+rerank" is the paper's: the probe runs become
    # PTM-specific tokens the Spider net scores. "spider+evidence" weighs each candidate's probe
    # accuracy against the history's estimate, with weights fitted on the history's stored probe
    # runs (ranking/rerank.py).
    candidates = first_order[:top_k]
    live = sum(runs[m].load_seconds + runs[m].probe_seconds for m in candidates)
    passes = sum(runs[m].probe_passes for m in candidates)
    t0 = time.perf_counter()
    feats = probe_features({m: runs[m].logprobs for m in candidates}, answers,
                           {m: runs[m].mass for m in candidates})
    second = spider.predict(TaskView(target.name, tokens[target.name], feats, exclude))
    reranked = _order(second[candidates]) + first_order[top_k:]
    out.append(Selection("spider+rerank", reranked, passes, fit_seconds + rank_seconds + time.perf_counter() - t0 + live,
                         {"candidates": candidates, "fit_seconds": fit_seconds}))

    t0 = time.perf_counter()
    evidence = ProbeEvidenceReranker(evidence_features, similarity=LIVE_SIMILARITY).fit(
        train, task_tokens, items, lambda t: [p.index for p in probe_items(REGISTRY.get(t), n_probes)])
    prior = evidence.prior(train, task_tokens, view)
    stats = pd.DataFrame.from_dict({m: probe_stats(runs[m].logprobs, answers) for m in candidates}, orient="index")
    reranked = _order(evidence.predict(prior, stats)) + first_order[top_k:]
    out.append(Selection("spider+evidence", reranked, passes, fit_seconds + rank_seconds + time.perf_counter() - t0 + live,
                         {"candidates": candidates, "fit_seconds": fit_seconds,
                          "probe_weight": round(evidence.probe_weight_, 4)}))

    return out + _running_methods(members, runs, answers)


def _running_methods(members: Sequence[str], runs: dict[str, ProbeRun], answers: list) -> list[Selection]:
    """The methods that need no history: they run every member (on the probes, or asked to rate itself)."""
    from llm_spider.baselines.self_assessed import probe_confidence

    out = []
    generated = any(runs[m].logprobs is None for m in members)
    if not generated:  # a model's confidence is read from its option scores
        conf = pd.Series({m: probe_confidence(runs[m].logprobs) for m in members})
        out.append(Selection("self-assessed (probe confidence)", _order(conf),
                             sum(runs[m].probe_passes for m in members),
                             sum(runs[m].load_seconds + runs[m].probe_seconds for m in members)))
    verbal = pd.Series({m: runs[m].verbal for m in members})
    out.append(Selection("self-assessed (verbal)", _order(verbal), len(members),
                         sum(runs[m].load_seconds + runs[m].verbal_seconds for m in members)))
    # Probe accuracy, ties broken by the gold option's mean probability (generated answers: ties stay).
    acc = pd.Series({m: float(np.mean(runs[m].correct)) if runs[m].logprobs is None else
                     probe_accuracy(runs[m].logprobs, answers)
                     + 1e-3 * np.mean([np.exp(lp[a]) for lp, a in zip(runs[m].logprobs, answers)]) for m in members})
    out.append(Selection("brute force (probes)", _order(acc), sum(runs[m].probe_passes for m in members),
                         sum(runs[m].load_seconds + runs[m].probe_seconds for m in members)))
    return out


def brute_force(target: Task, truth: pd.Series, history: History) -> Selection:
    """Every model on every evaluated item: the truth itself, at the cost `evaluate` recorded (a
    truth measured on a sample of items, `evaluate --max-items`, is charged for that sample)."""
    scores = history.scores
    rows = scores[scores["model"].isin(list(truth.index)) & scores["task"].isin(list(target.parts))]
    seconds = float(pd.to_numeric(rows["seconds"], errors="coerce").sum()) if "seconds" in rows else float("nan")
    n_items = pd.to_numeric(rows["n_items"], errors="coerce") if "n_items" in rows else pd.Series(dtype=float)
    passes = int(n_items.sum()) if len(n_items) and n_items.notna().all() else len(scoring_items(target)) * len(truth)
    return Selection("brute force", _order(truth), passes, seconds)


def truth_for(target: Task, members: Sequence[str], history: History, zoo: str = "") -> pd.Series:
    truth = history.task_scores(target.parts).reindex(list(members))
    missing = [m for m in members if pd.isna(truth.get(m))]
    if missing:
        which = "--task-file PATH" if target.family == "file" else f"--task {target.name}"
        raise SpiderError(f"no measured accuracy of {', '.join(missing)} on '{target.name}': run "
                          f"`llm-spider evaluate{f' --zoo {zoo}' if zoo else ''} {which} --models "
                          f"{','.join(missing)}` first")
    return truth


def score_selections(target: Task, truth: pd.Series, selections: Sequence[Selection], encoder_seconds: float,
                     brute_passes: int) -> list[dict]:
    """One record per method: the contract fields of live_zoo.json plus context."""
    records = []
    n = len(truth)
    for s in selections:
        pred = pd.Series({m: float(n - i) for i, m in enumerate(s.order)}).reindex(truth.index)
        records.append({
            "task": target.name, "method": s.method, "top1_model": s.order[0],
            "top1_accuracy": float(truth[s.order[0]]),
            "weighted_tau": weighted_tau(truth.to_numpy(), pred.to_numpy()),
            "top1_regret": top1_regret(truth.to_numpy(), pred.to_numpy()),
            "forward_passes": int(s.forward_passes),
            "passes_vs_brute_force": s.forward_passes / brute_passes if brute_passes else float("nan"),
            "seconds": round(float(s.seconds), 3),
            "encoder_seconds": round(encoder_seconds, 3) if s.method in ("spider", "spider+rerank", "spider+evidence",
                                                                        "similar-tasks", PROFILE_BASELINE) else 0.0,
            "models": n, "best_model": str(truth.idxmax()), "best_accuracy": float(truth.max()),
            "order": " > ".join(s.order),
            **{k: (" > ".join(v) if isinstance(v, list) else v) for k, v in s.notes.items()},
        })
    return records


def compare(targets: Sequence[Task], members: Sequence, history: History, items: pd.DataFrame, encoder,
            loader: Callable, *, top_k: int = DEFAULT_TOP_K, n_probes: int = DEFAULT_PROBES, seed: int = 0,
            log: Callable[[str], None] = lambda s: None, encode: Callable | None = None,
            progress: Progress = SILENT, zoo: str = "", scoring=None) -> list[dict]:
    """Records of every method on every target (see the module docstring for what is counted)."""
    if top_k < 1:
        raise SpiderError("--top-k must be at least 1")
    names = [m.name for m in members]
    if len(names) < 2:
        raise SpiderError("comparing needs at least two installed zoo members")
    truths = {t.name: truth_for(t, names, history, zoo) for t in targets}  # before any work: fail fast
    # Rankers learn from the members' results on other tasks: without two such tasks (a zoo of the
    # user's own members, evaluated on the target only) only the methods that run members compare.
    enough = {t.name: len(history.drop_tasks(tuple(t.parts)).subset(models=names).tasks) >= 2 for t in targets}
    for t in targets:
        if not enough[t.name]:
            log(f"note: {t.name}: the members have results on fewer than two other tasks, so the history "
                "rankers (spider, similar-tasks, leaderboard, ...) are left out; evaluate them on other tasks "
                "(`llm-spider evaluate --task ...`) to compare those too")
    history_tasks = [REGISTRY.get(t) for t in history.tasks if t in REGISTRY]
    encode = encode or (lambda tasks: {t.name: encoder.encode(t) for t in tasks})
    tokens = encode(history_tasks)
    records = []
    for target in targets:
        truth = truths[target.name]
        t0 = time.perf_counter()
        tokens.update(encode([target]))
        # What encoding the target's prompts costs, also when another step encoded it already (the
        # history holds the target too): the wall time of a cached read would claim ~0 s.
        encoder_seconds = getattr(encoder, "seconds_", {}).get(target.name, time.perf_counter() - t0)
        runs, probes = run_probes(members, target, n_probes, loader, log, progress, scoring)
        if probes[0].mode == "generate":
            log(f"note: {target.name}: answers are generated, so the methods that read option scores "
                "(spider+rerank, spider+evidence, probe confidence) are left out")
        elif probes[0].mode != "letter" and enough[target.name]:
            log(f"note: {target.name}: the probes are scored by {probes[0].mode}, but spider+rerank and "
                "spider+evidence learn from the history's stored probes, which are letter-scored")
        selections = select_all(target, names, history, items, tokens, runs, probes, top_k=min(top_k, len(names)),
                                n_probes=n_probes, seed=seed, with_history=enough[target.name])
        bf = brute_force(target, truth, history)
        records += score_selections(target, truth, [*selections, bf], encoder_seconds, bf.forward_passes)
    return records


def paired_differences(records: Sequence[dict], method: str = "spider+rerank",
                       against: Sequence[str] = ("leaderboard", "similar-tasks", "self-assessed (probe confidence)",
                                                 "self-assessed (verbal)")) -> pd.DataFrame:
    """``method`` minus each of ``against``, per metric, over the targets both ran on: the mean
    difference, its 95 % paired bootstrap interval, and the targets it wins, ties and loses: whether
    a lead in the means table is more than the luck of which tasks are in the benchmark."""
    df = pd.DataFrame(records)
    wide = {metric: df.pivot_table(index="task", columns="method", values=metric) for metric in
            ("top1_accuracy", "weighted_tau")}
    rows = []
    for other in against:
        for metric, table in wide.items():
            if method not in table or other not in table:
                continue
            d = (table[method] - table[other]).dropna()
            if len(d) < 2:
                continue
            mean, low, high = paired_bootstrap(d.to_numpy())
            rows.append({"method": method, "against": other, "metric": metric, "tasks": len(d),
                         "mean_difference": mean, "ci95_low": low, "ci95_high": high,
                         "wins": int((d > 1e-12).sum()), "ties": int((d.abs() <= 1e-12).sum()),
                         "losses": int((d < -1e-12).sum())})
    return pd.DataFrame(rows)


def summarize_live(records: Sequence[dict]) -> pd.DataFrame:
    """Mean per method over targets, in the order of METHODS (methods it does not name, e.g. a newly
    registered baseline, after them)."""
    df = pd.DataFrame(records)
    agg = df.groupby("method").agg(tasks=("task", "nunique"), top1_accuracy=("top1_accuracy", "mean"),
                                   weighted_tau=("weighted_tau", "mean"), top1_regret=("top1_regret", "mean"),
                                   forward_passes=("forward_passes", "sum"), seconds=("seconds", "sum"),
                                   encoder_seconds=("encoder_seconds", "sum"))
    brute = agg.loc["brute force", "forward_passes"] if "brute force" in agg.index else np.nan
    agg["passes_vs_brute_force"] = agg["forward_passes"] / brute
    order = [m for m in METHODS if m in agg.index] + [m for m in agg.index if m not in METHODS]
    return agg.loc[order].reset_index()
