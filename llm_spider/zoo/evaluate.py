"""Measure the ground truth: each zoo model's accuracy on whole tasks, resumably, with provenance.

Every item is scored once per model by its option log-probabilities (zero-shot, letter options).
Results are appended per batch to a JSON-lines run log (flushed and fsynced), so a killed run
resumes where it stopped with no item lost or counted twice. Each record carries its share of its
batch's seconds (``s``), so the time of a killed segment's saved items is not lost with it (the
meta file's ``seconds`` holds what no record carries: items copied from another store, and logs
written before records carried their seconds). When a (model, task) run is complete
its accuracy becomes a row of the local history, with the backend, template, shots, package
versions, date and seconds it took. The per-item log-probabilities are kept too: they are the
probe features that re-ranking learns from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.paths import DATA_DIR, file_name
from llm_spider.tasks.base import Task, template_source
from llm_spider.tasks.scoring import (  # noqa: F401 - ScoringItem and scoring_template are read from here too
    Generation,
    Scoring,
    ScoringItem,
    item_correct,
    prompts_sha,
    task_generation,
    task_scoring,
    scoring_items,
    scoring_template,
)
from llm_spider.tasks.catalog import MMLU_SUBSET
from llm_spider.writing import write_output
from llm_spider.zoo.runlog import RunLog, holding

SHOTS = 0
# The shipped evaluation: every subject of mmlu_subset (so `compare --task mmlu_subset` has its
# truth), three more MMLU subjects (so that a history without mmlu_subset's own subjects still has
# MMLU-like tasks), four BIG-Bench-Hard tasks with fixed options and short prompts, and ARC-Challenge
# and OpenBookQA (grade-school science, where the default members differ most: MMLU is near chance
# for all three). Sized to what 2 CPU cores run in about an hour (compute grows with prompt length:
# the 0.5B model scores about two MMLU items per second there).
LIVE_TASK_SET: tuple[str, ...] = (
    *(f"mmlu_{s}" for s in MMLU_SUBSET),
    "mmlu_high_school_geography", "mmlu_management", "mmlu_us_foreign_policy",
    "bbh_boolean_expressions", "bbh_sports_understanding", "bbh_hyperbaton", "bbh_snarks",
    "arc_challenge", "openbookqa",
)
# Six more MMLU subjects evaluated on the multi-source zoo only, as more history for its rankers
# (25 tasks instead of 19): drawn with seed 2026 from the subjects of 100-112 questions outside the
# live set, and first run as blind targets of `compare`. MMLU repeats a few test questions in its
# validation split: two public_relations questions are among the mmlu-social specialists' 192
# training items (reported in the README, left in: 2 of 110).
MULTISOURCE_EXTRA_TASKS: tuple[str, ...] = (
    "mmlu_abstract_algebra", "mmlu_business_ethics", "mmlu_college_computer_science", "mmlu_college_mathematics",
    "mmlu_global_facts", "mmlu_public_relations",
)
SHIPPED_LOCAL_DIR = DATA_DIR / "zoos" / "local"
HISTORY_FILE, ITEMS_FILE, RUNS_DIR = "history.csv", "items.parquet", "runs"
# What items.parquet keeps per item: ids and the model's outputs (no question text, no answer key).
STORED_ITEM_COLUMNS = ["model", "task", "item", "logprobs", "mass"]


def probe_items(task: Task, n: int, seed: int = 0, mode: str = "letter",
                generation: Generation | None = None) -> list[ScoringItem]:
    """``n`` items of the task drawn once with a seed derived from the task's name, so every model,
    every method and every run sees the same probes."""
    items = scoring_items(task, mode, generation)
    digest = int(hashlib.sha256(f"{task.name}|{seed}".encode()).hexdigest()[:8], 16)
    pick = np.random.default_rng(digest).permutation(len(items))[:n]
    return [items[i] for i in sorted(pick)]


def evaluated_items(task: Task, max_items: int | None = None, mode: str = "letter",
                    generation: Generation | None = None) -> tuple[ScoringItem, ...]:
    """The items a ground-truth run scores: all of them, or a seeded sample of ``max_items`` (the
    same draw as the probes, extended, so a task's probes are always among its evaluated items)."""
    cap = sample_cap(task, max_items, mode, generation)
    return scoring_items(task, mode, generation) if cap is None else tuple(probe_items(task, cap, 0, mode, generation))


def sample_cap(task: Task, max_items: int | None, mode: str = "letter", generation: Generation | None = None) -> int | None:
    """The sample size a ``max_items`` run of ``task`` really has: None when it covers the whole task."""
    return max_items if max_items is not None and max_items < len(scoring_items(task, mode, generation)) else None


def expand_tasks(tasks: Iterable[Task]) -> list[Task]:
    """Composite tasks become their components (the history stores components)."""
    from llm_spider.tasks import REGISTRY

    out: list[Task] = []
    for t in tasks:
        parts = [REGISTRY.get(c) for c in t.components] if len(t.components) > 1 else [t]
        out.extend(p for p in parts if p not in out)
    return out


def package_versions(packages: Iterable[str]) -> str:
    names = ["llm-spider", "torch", "transformers", *(p.split("==")[0] for p in packages)]
    out = []
    for n in dict.fromkeys(names):
        try:
            out.append(f"{n}=={metadata.version(n)}")
        except metadata.PackageNotFoundError:
            pass
    return " ".join(out)


# --- the local store: history + per-item results -------------------------------------------
class LocalStore:
    """A directory holding ``runs/`` (the logs), ``history.csv`` (accuracies with provenance) and
    ``items.parquet`` (per-item option log-probabilities of completed runs).

    Stored records hold item ids and the models' outputs, never the data set's content: the gold
    answer of each item is read from the task's data when the items are read (``items_frame``)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def run_log(self, model: str, task: Task, backend: str, mode: str = "letter",
                generation: Generation | None = None) -> RunLog:
        """The log of one (model, task, scoring mode) run. A mode other than ``letter`` has a log of its
        own (``<task>.<mode>.jsonl``) and says so in its settings, so no run reuses another mode's
        items; a task not read from the data folder also records its content's digest, so an edited
        file is not scored on top of the old one's items."""
        template = scoring_template(task, mode)
        source = prompts_sha(scoring_items(task, mode, generation)) if task.rendered else template_source(template)
        meta = {"model": model, "task": task.name, "backend": backend, "template": template,
                "template_sha": hashlib.sha256(source.encode()).hexdigest()[:16], "shots": SHOTS}
        if mode != "letter":
            meta["scoring"] = mode
        if mode == "generate":
            meta["generation"] = (generation or task_generation(task)).settings()
        if not task.builtin:
            meta["task_sha"] = task.fingerprint
        suffix = "" if mode == "letter" else f".{mode}"
        return RunLog(self.root / RUNS_DIR / file_name(model) / f"{file_name(task.name)}{suffix}.jsonl", meta)

    def history_frame(self) -> pd.DataFrame:
        path = self.root / HISTORY_FILE
        return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["model", "task", "score"])

    def stored_items(self) -> pd.DataFrame:
        """items.parquet as stored: ids and outputs (a column ``answer`` of an older store is dropped)."""
        path = self.root / ITEMS_FILE
        if not path.is_file():
            return pd.DataFrame(columns=STORED_ITEM_COLUMNS)
        return pd.read_parquet(path).drop(columns=["answer"], errors="ignore")

    def items_frame(self) -> pd.DataFrame:
        """Stored items with each one's gold option index (``answer``) attached from its task's data."""
        return with_answers(self.stored_items())

    def record(self, row: dict, items: pd.DataFrame) -> None:
        """Upsert one completed run into history.csv and items.parquet (atomic replace of each),
        under the store's lock: two processes recording other tasks both keep their rows."""
        self.root.mkdir(parents=True, exist_ok=True)
        with holding(self.root / ".lock"):
            self._record(row, items)

    def _record(self, row: dict, items: pd.DataFrame) -> None:
        hist = self.history_frame()
        hist = hist[~((hist["model"] == row["model"]) & (hist["task"] == row["task"]))]
        hist = pd.concat([hist, pd.DataFrame([row])], ignore_index=True).sort_values(["model", "task"])
        write_output(self.root / HISTORY_FILE, lambda p: hist.to_csv(p, index=False), "results")
        old = self.stored_items()
        old = old[~((old["model"] == row["model"]) & (old["task"] == row["task"]))]
        allitems = pd.concat([old[STORED_ITEM_COLUMNS], items[STORED_ITEM_COLUMNS]],
                             ignore_index=True).sort_values(["model", "task", "item"])
        write_output(self.root / ITEMS_FILE, lambda p: allitems.to_parquet(p, index=False), "results")


@lru_cache(maxsize=None)
def _answers(name: str) -> np.ndarray:
    """The gold option index of every item of a built-in task (-1 where an item has none)."""
    from llm_spider.tasks import REGISTRY

    return np.array([a if isinstance(a, int) else -1 for a in (i.answer for i in REGISTRY.get(name).items)],
                    dtype=np.int64)


def with_answers(items: pd.DataFrame) -> pd.DataFrame:
    """``items`` with an ``answer`` column read from each task's data; an item id beyond its task
    (a store made from other data) is refused, since its answers would be another question's."""
    out = items.reset_index(drop=True)
    answers = np.empty(len(out), dtype=np.int64)
    ids = out["item"].to_numpy(dtype=np.int64)
    for task, rows in out.groupby("task").indices.items():
        gold = _answers(str(task))
        if len(rows) and (ids[rows].max() >= len(gold) or ids[rows].min() < 0):
            raise SpiderError(f"stored items of task '{task}' go up to item {ids[rows].max()}, but the data "
                              f"set has {len(gold)}: the results were made from other data")
        answers[rows] = gold[ids[rows]]
    out.insert(list(out.columns).index("item") + 1, "answer", answers)
    return out


def _where(root: Path) -> str:
    """A store's place as recorded in shipped files: relative to the package's data, not this machine."""
    try:
        return f"llm_spider/data/{Path(root).resolve().relative_to(DATA_DIR.resolve())}"
    except ValueError:
        return str(root)


def _finished_items(store: LocalStore, model: str, task: Task, backend: str, meta: dict,
                    mode: str = "letter", generation: Generation | None = None) -> tuple[dict[int, dict], float]:
    """What ``store`` holds for this run under the same settings: its run log, or (where logs are not
    kept, as in the shipped stores) its history row and items table. Returns items and seconds spent."""
    log = store.run_log(model, task, backend, mode, generation)
    if log.path.is_file():
        try:
            have = log.load()
        except SpiderError:  # other settings: not the same measurement
            return {}, 0.0
        return have, log.seconds(have.values())
    hist = store.history_frame()
    row = hist[(hist["model"] == model) & (hist["task"] == task.name)]
    if mode != "letter" or row.empty or any(str(row.iloc[0].get(k)) != str(meta[k]) for k in ("backend", "template_sha")) \
            or int(row.iloc[0].get("shots", -1)) != meta["shots"] or scoring_of(row.iloc[0]) != "letter":
        return {}, 0.0
    items = store.stored_items()  # outputs only: the answers are the task's own, not the store's
    items = items[(items["model"] == model) & (items["task"] == task.name)]
    have = {int(r.item): {"i": int(r.item), "logprobs": [float(x) for x in r.logprobs],
                          "mass": float(r.mass)} for r in items.itertuples()}
    return have, float(row.iloc[0].get("seconds", 0.0) or 0.0)


def reuse_items(log: RunLog, others: Sequence[LocalStore], model: str, task: Task, backend: str,
                valid: set[int], done: dict[int, dict], mode: str = "letter", generation: Generation | None = None) -> int:
    """Copy items another store already scored for the same model and settings into ``log`` (with
    their share of that run's seconds), so a second zoo sharing base members does not rerun them."""
    copied = 0
    for other in others:
        if Path(other.root).resolve() == Path(log.path).parents[2].resolve():
            continue
        have, seconds = _finished_items(other, model, task, backend, log.meta, mode, generation)
        new = [r for i, r in sorted(have.items()) if i in valid and i not in done]
        if not new:
            continue
        log.start()
        log.append([{k: v for k, v in r.items() if k != "s"} for r in new])  # their seconds go to meta
        done.update({int(r["i"]): r for r in new})
        meta = json.loads(log.meta_path.read_text())
        meta["seconds"] = float(meta.get("seconds", 0.0)) + seconds * len(new) / max(len(have), 1)
        meta["reused_from"] = sorted({*meta.get("reused_from", []), _where(other.root)})
        log.meta_path.write_text(json.dumps(meta, indent=1))
        copied += len(new)
    return copied


def evaluate_run(backend, model, task: Task, store: LocalStore, restart: bool = False,
                 chunk: int = 8, progress: Callable[[int], None] | None = None,
                 on_start: Callable[[int, int], None] | None = None, max_items: int | None = None,
                 reuse: Sequence[LocalStore] = (), on_wait: Callable[[str], None] | None = None,
                 scoring: Scoring | None = None) -> dict:
    """Score every item of ``task`` (or its seeded sample of ``max_items``) with ``backend`` (a loaded
    ``model``, or a scorer of llm_spider.executors), resuming its run log (saved every ``chunk``
    items: the batch size); items that a store in ``reuse`` already holds for the same model and
    settings are copied rather than rerun. Another process scoring the same run holds its log's lock:
    this one waits (``on_wait`` says so), then finds its items done.

    Returns the history row. ``on_start(total, already_done)`` lets the caller size a progress bar.
    """
    from llm_spider.executors import as_scorer

    scorer = as_scorer(backend)  # a loaded backend, or batches scored elsewhere (a Ray cluster)
    mode, gen = task_scoring(task, scoring)
    items = evaluated_items(task, max_items, mode, gen)
    log = store.run_log(model.name, task, scorer.name, mode, gen)
    with log.lock(on_wait):
        if restart:
            log.reset()
        done = log.load()
        valid = {it.index for it in items}
        done = {i: r for i, r in done.items() if i in valid}
        reused = reuse_items(log, reuse, model.name, task, scorer.name, valid, done, mode, gen) if reuse else 0
        if on_start:
            on_start(len(items), len(done))
        log.start()
        todo = [it for it in items if it.index not in done]
        for recs in scorer.score([todo[start:start + chunk] for start in range(0, len(todo), chunk)]):
            log.append(recs)  # here only: one writer, so each item is logged once wherever it ran
            done.update({r["i"]: r for r in recs})
            if progress:
                progress(len(recs))
    recs = [done[it.index] for it in items]
    correct = [int(item_correct(it, r)) for r, it in zip(recs, items)]
    row = {"model": model.name, "task": task.name, "score": float(np.mean(correct)), "n_items": len(items),
           "max_items": sample_cap(task, max_items, mode, gen), "scoring": mode,
           "reused_items": reused, "source": "llm-spider evaluate", "backend": scorer.name, "template": log.meta["template"],
           "template_sha": log.meta["template_sha"], "shots": SHOTS,
           "versions": package_versions([*model.packages[:1], *(["peft"] if model.adapter else [])]),
           "date": dt.date.today().isoformat(),
           "seconds": round(log.seconds(recs), 2)}
    if model.kind != "pypi":
        row["weights"] = model.origin
    usage = [r["usage"] for r in recs if r.get("usage")]
    if usage:  # what a served member's items cost, as the server counted it
        row["prompt_tokens"] = sum(int(u.get("prompt_tokens", 0)) for u in usage)
        row["completion_tokens"] = sum(int(u.get("completion_tokens", 0)) for u in usage)
    if mode == "generate":
        row["extraction"], row["metric"] = items[0].generation.extract, items[0].generation.metric
    if not task.builtin:
        row["task_sha"] = task.fingerprint
    # items.parquet keeps what probes and features read: letter-scored items of the data folder's tasks
    # (their answers come from the data); other runs keep their items in their run logs only
    kept = list(recs) if mode == "letter" and task.builtin else []
    frame = pd.DataFrame({"model": model.name, "task": task.name, "item": [r["i"] for r in kept],
                          "logprobs": [r["logprobs"] for r in kept], "mass": [r["mass"] for r in kept]},
                         columns=STORED_ITEM_COLUMNS)
    store.record(row, frame)
    return row


def scoring_of(row) -> str:
    """A history row's scoring mode (rows written before modes existed are letter-scored)."""
    mode = row.get("scoring")
    return mode if isinstance(mode, str) and mode else "letter"
