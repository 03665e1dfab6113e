"""The LLM path as library calls: encode tasks, load or train a Spider, rank a task, add a model,
benchmark the methods. The CLI, the benchmark scripts and users' code all call these."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider.api.imports import imported_history, imported_tasks
from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.progress import SILENT, Progress
from llm_spider.ranking.accuracy import AccuracyMap, Levels, centroids_of, fit_accuracy, history_levels, standardised

DEFAULT_METHOD = "spider"  # the best method measured by `llm-spider benchmark llm`
DEFAULT_SEEDS = 5  # methods with a random state are benchmarked over seeds 0..4
DEFAULT_PROMPTS = 32


def load_history(path: Path | None = None, progress: Progress = SILENT):
    """A score history: the user's table at ``path`` (noting scores outside [0, 1]), else the data
    layer's leaderboard."""
    from llm_spider.zoo import History

    if not path:
        return History.from_leaderboard()
    path = imported_history(path)
    h = History.from_file(path)
    if note := h.scale_note():
        progress.note(f"note: {path}: {note}")
    return h


def comparable_tasks(history) -> list:
    """The history's tasks with prompts to compare: the registry's and those of its imports."""
    from llm_spider.tasks import REGISTRY

    extra = imported_tasks(history)
    return [REGISTRY.get(t) if t in REGISTRY else extra[t] for t in history.tasks if t in REGISTRY or t in extra]


def task_encoder(n_prompts: int = DEFAULT_PROMPTS, prompt_seed: int = 0, cache_dir: Path | None = None):
    from llm_spider.encoders import TaskEncoder

    return TaskEncoder(n_prompts=n_prompts, seed=prompt_seed, cache_dir=cache_dir)


def encode_tasks(tasks: list, encoder, progress: Progress = SILENT) -> dict[str, np.ndarray]:
    """Token sets for ``tasks``, from the cache where possible, encoding (with a bar) otherwise."""
    todo = [t for t in tasks if not encoder.is_cached(t)]
    if todo:
        used = sorted({min(encoder.n_prompts, len(t.items)) for t in todo})
        each = (f"{used[0]} prompt{'s' * (used[0] > 1)} each" if len(used) == 1 else
                f"{used[0]} to {used[-1]} prompts each")
        progress.note(f"Encoding {len(todo)} task(s) with {encoder.encoder.model_path.parent.name} "
                      f"({each}; cached for next time)")
    out = {t.name: encoder.encode(t) for t in tasks if t not in todo}
    if todo:
        with progress.bar(f"loading {encoder.encoder.model_path.parent.name}"):
            encoder.encoder.model  # noqa: B018 - seconds of its own, not the first task's
        out.update(encoder.encode_many(todo, progress=lambda ts: progress.track(ts, "encoding tasks")))
    return out


def encoder_info(encoder) -> dict:
    """What a Spider checkpoint records of the encoder, so ranking encodes tasks the same way."""
    return {"name": encoder.encoder.name, "n_prompts": encoder.n_prompts, "seed": encoder.seed}


def train_spider(history, encoder, random_state: int = 0, epochs: int | None = None, source: str = "",
                 leaderboard_sha: str | None = None, progress: Progress = SILENT):
    """Fit a Spider on ``history`` (its tasks with prompts); returns it and the seconds the fit took.
    It remembers its encoder, its source and, when ``history`` is the data layer's leaderboard, that
    table's content hash (``leaderboard_sha``)."""
    from llm_spider.ranking.spider import SpiderRanker

    known = comparable_tasks(history)
    if not known:
        raise SpiderError("none of the history's tasks is a built-in task with prompts; the Spider needs them")
    tokens = encode_tasks(known, encoder, progress)
    spider = SpiderRanker(random_state=random_state, **({"epochs": epochs} if epochs else {}))
    start = time.perf_counter()
    with progress.bar("training the Spider (epochs)", spider.epochs) as bar:
        spider.fit(history, tokens, on_epoch=lambda epoch: bar.update(completed=epoch))
    spider.accuracy_ = fit_accuracy(spider, history, tokens)
    spider.encoder_ = encoder_info(encoder)
    spider.trained_on_, spider.leaderboard_sha256_ = source, leaderboard_sha
    return spider, time.perf_counter() - start


def load_spider(checkpoint: Path | None = None, cache_dir: Path | None = None, leaderboard=None,
                progress: Progress = SILENT):
    """The Spider to rank with and where it came from (``spider_checkpoint``). The shipped one records
    the content hash of the leaderboard table it was trained on: when ``leaderboard`` comes from
    another table, a Spider is trained for that table once, into the user data dir, and reused from
    then on."""
    from llm_spider import datasets
    from llm_spider.api.rank_cache import spider_checkpoint
    from llm_spider.paths import SHIPPED_CHECKPOINT, data_matched_checkpoint_dir
    from llm_spider.ranking.spider import SpiderRanker

    path = spider_checkpoint(checkpoint, leaderboard)
    if path is not None:
        return SpiderRanker.load(path), path
    shipped = SpiderRanker.load(SHIPPED_CHECKPOINT)
    sha = datasets.content_sha("leaderboard")
    path = data_matched_checkpoint_dir(sha)
    progress.note(f"note: this leaderboard table ({sha[:12]}) is not the one the shipped Spider was trained on "
                  f"({shipped.leaderboard_sha256_[:12]}): training a Spider for it once, into {path}")
    encoder = task_encoder(shipped.encoder_["n_prompts"], shipped.encoder_["seed"], cache_dir)
    spider, seconds = train_spider(leaderboard, encoder, random_state=shipped.random_state, source="data:leaderboard",
                                   leaderboard_sha=sha, progress=progress)
    spider.save(path)
    progress.note(f"note: trained in {seconds:.1f}s on {len(spider.tasks_)} tasks × {len(spider.models_)} models; "
                  "later runs on this table reuse it")
    return spider, path


def checkpoint_encoder(spider, cache_dir: Path | None = None, n_prompts: int | None = None,
                       prompt_seed: int | None = None):
    """A TaskEncoder configured as the checkpoint's was; refuses settings it was not trained with."""
    info = spider.encoder_ or {}
    if not info:
        raise SpiderError("this checkpoint does not record its task encoder; re-create it with `llm-spider train`")
    for flag, given, trained in (("--prompts", n_prompts, info["n_prompts"]), ("--prompt-seed", prompt_seed, info["seed"])):
        if given is not None and given != trained:
            raise SpiderError(f"the Spider checkpoint was trained with {flag} {trained}; got {given} "
                              "(train your own with `llm-spider train` to change it)")
    encoder = task_encoder(info["n_prompts"], info["seed"], cache_dir)
    if encoder.encoder.name != info["name"]:
        raise SpiderError(f"the Spider checkpoint was trained with encoder {info['name']}, this install has "
                          f"{encoder.encoder.name}; re-create it with `llm-spider train`")
    return encoder


@dataclass
class RankResult:
    """A ranking with what a reader needs beside it: each model's predicted accuracy on the target
    with its interval (ranking/accuracy.py; None where the ranker has no accuracy map), the
    history's true scores on the target (where it has them), the target's tasks hidden from the
    ranker, notes, and the seconds it took."""

    ranking: object  # ranking.Ranking
    truth: pd.Series | None
    hidden: list[str]
    seconds: float
    used_checkpoint: bool
    notes: list[str] = field(default_factory=list)
    accuracy: pd.DataFrame | None = None  # index model: predicted_accuracy, accuracy_low, accuracy_high
    accuracy_map: AccuracyMap | None = None

    def frame(self, top: int | None = None, raw: bool = False) -> pd.DataFrame:
        """rank, model, predicted_accuracy, accuracy_low, accuracy_high, the ranker's own
        predicted_score (with ``raw``, or when there is no accuracy) and, where the history has
        them, true_score."""
        shown = self.ranking.top(top) if top else self.ranking
        truth = self.truth if self.truth is not None and self.truth.notna().any() else None
        df = shown.to_frame(truth)
        if self.accuracy is None:
            return df
        acc = self.accuracy.reindex(df["model"]).reset_index(drop=True)
        df = pd.concat([df[["rank", "model"]], acc, df.drop(columns=["rank", "model"])], axis=1)
        return df if raw else df.drop(columns=["predicted_score"])


def rank(task: str | None = None, task_file: Path | None = None, method: str = DEFAULT_METHOD,
         models: list[str] | None = None, history: Path | None = None, checkpoint: Path | None = None,
         keep_target_scores: bool = False, n_prompts: int | None = None, prompt_seed: int | None = None,
         cache_dir: Path | None = None, seed: int = 0, progress: Progress = SILENT,
         sources=None) -> RankResult:
    """Rank the zoo for a built-in ``task`` (or an ``lm-eval:``/``hf:`` one, read with ``sources``:
    a tasks.resolve.TaskSources) or a user's ``task_file``, best first.

    ``method="spider"`` without ``history`` ranks with a checkpoint (no training); any other method,
    or a user's ``history``, is fitted first. By default the history's scores on the target itself
    are hidden from the ranker, so the ranking is a prediction (``keep_target_scores`` lets it see
    them)."""
    from llm_spider.ranking import TaskView, make_ranker
    from llm_spider.ranking.registry import RANKERS
    from llm_spider.tasks import REGISTRY, file_notes, get_task, load_task_file

    if (task is None) == (task_file is None):
        raise SpiderError("give exactly one of --task NAME or --task-file PATH")
    if task and task.startswith(("lm-eval:", "hf:")):
        from llm_spider.tasks.resolve import TaskSources, resolve_task

        task = resolve_task(task, sources or TaskSources()).name
    target = load_task_file(task_file) if task_file else get_task(task) if task in REGISTRY else None
    RANKERS.check(method)  # validate the name before any work (without importing the method: torch)
    h = load_history(history, progress)
    if target is None:  # a task of the imports the history came from (`zoo import`), else unknown
        extra = imported_tasks(h)
        target = extra[task] if task in extra else get_task(task)
    truth = h.task_scores(target.components) if target.components else None
    hidden = [] if keep_target_scores else [c for c in target.components if c in h.tasks]
    notes: list[str] = file_notes(target) if task_file else []
    start = time.perf_counter()
    use_checkpoint = method == "spider" and (history is None or checkpoint is not None)
    if use_checkpoint:
        from llm_spider.api import rank_cache

        folder = rank_cache.spider_checkpoint(checkpoint, None if history else h)
        digest = folder and rank_cache.key(folder, target, hidden, n_prompts, prompt_seed)
        hit = rank_cache.read(cache_dir, digest) if digest else None
        if hit is not None:  # computed by an earlier `rank`: no torch, no encoder, no Spider
            return _finish(hit["ranking"], truth, hidden, start, True, notes + hit["notes"], hit["accuracy"],
                           hit["accuracy_map"], hit["models"], models)
        ranker, path = load_spider(checkpoint, cache_dir, None if history else h, progress)
        encoder = checkpoint_encoder(ranker, cache_dir, n_prompts, prompt_seed)
        tokens = encode_tasks([target], encoder, progress)
        seen = [c for c in hidden if c in ranker.tasks_]
        own_notes: list[str] = []
        if seen:
            n = len(target.components)
            parts = "" if n == 1 else f" (all {n} of its tasks)" if len(seen) == n else f" ({len(seen)} of its {n} tasks)"
            own_notes.append(f"'{target.name}' is in the history the Spider checkpoint ({path}) was trained on"
                         f"{parts}: the ranking does not read those scores, but the model tokens learnt from "
                         "them, so it is not a held-out prediction; `llm-spider benchmark llm` measures held-out "
                         "tasks")
    else:
        ranker = make_ranker(method, random_state=seed)
        fit_history = h.drop_tasks(hidden)
        if not fit_history.tasks:
            raise SpiderError("no history tasks left to learn from once the target's own scores are hidden")
        tokens = {}
        if ranker.needs_task_tokens:  # one pass, so the encoder is loaded at most once
            encoder = task_encoder(n_prompts or DEFAULT_PROMPTS, 0 if prompt_seed is None else prompt_seed, cache_dir)
            tokens = encode_tasks([*comparable_tasks(fit_history), target], encoder, progress)
        if method == "spider":
            notes.append("spider was fitted on your --history now; save it with `llm-spider train --history ...` "
                         "and pass --checkpoint to skip this next time")
        ranker.fit(fit_history, tokens or None)
    ranking = ranker.rank(TaskView(target.name, tokens.get(target.name), exclude=tuple(hidden)))
    if use_checkpoint:
        amap = ranker.accuracy_
        levels = Levels(ranker.tasks_, ranker.train_scores_, ranker.centroids_)
        if amap is None:
            own_notes.append(f"the Spider checkpoint ({path}) predates accuracy predictions: the table shows its "
                             "standardised scores; re-create it with `llm-spider train` for accuracies")
        notes += own_notes
    else:
        try:
            amap = fit_accuracy(ranker, fit_history, tokens)
        except SpiderError as exc:  # e.g. a history of two tasks: rank, but say why there is no accuracy
            amap = None
            notes.append(f"no predicted accuracy: {exc}; the table shows the method's own scores")
        levels = history_levels(fit_history, tokens if ranker.needs_task_tokens else {})
    accuracy = None
    if amap is not None:
        centroid = centroids_of({target.name: tokens[target.name]}).get(target.name) if target.name in tokens else None
        accuracy = amap.predict(standardised(ranking.scores), *levels.level(centroid, exclude=hidden))
    if use_checkpoint and digest:
        rank_cache.write(cache_dir, digest, ranking, accuracy, amap, list(ranker.models_), path, own_notes)
    if hidden and not use_checkpoint:
        notes.append(f"the history's scores on {len(hidden)} task(s) of '{target.name}' were hidden from "
                     "the ranker and are shown as true_score (use --keep-target-scores to use them)")
    return _finish(ranking, truth, hidden, start, use_checkpoint, notes, accuracy, amap, list(ranker.models_),
                   models)


def _finish(ranking, truth, hidden, start: float, used_checkpoint: bool, notes: list[str], accuracy, amap,
            known: list[str], models: list[str] | None) -> RankResult:
    """The result `rank` returns, of ``models`` alone where given (an unknown one refused)."""
    if models:
        for m in models:
            if m not in known:
                raise UnknownNameError("model", m, known)
        ranking = ranking.only(models)
    return RankResult(ranking, truth, hidden, time.perf_counter() - start, used_checkpoint, ranking.notes + notes,
                      accuracy, amap)


def add_model(name: str, scores: Path, checkpoint: Path | None = None, output: Path | None = None,
              cache_dir: Path | None = None, progress: Progress = SILENT) -> tuple[dict, Path, Path, int]:
    """Add a model to the Spider from its scores on a few history tasks (a CSV task,score) without
    retraining. Returns the fit report, the checkpoint written, the one it came from and the zoo size."""
    from llm_spider.paths import user_checkpoint_dir
    from llm_spider.writing import ensure_writable
    from llm_spider.ranking.spider.add_model import check_scale
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.history import model_scores_from_file

    given = model_scores_from_file(scores, name)
    ensure_writable(output or user_checkpoint_dir(), "checkpoint")  # before the fit, not after
    spider, path = load_spider(checkpoint, cache_dir, load_history(None), progress)
    encoder = checkpoint_encoder(spider, cache_dir)
    usable = [t for t in given if t in spider.tasks_ and t in REGISTRY]
    check_scale(spider.train_scores_, {t: given[t] for t in usable})  # before any encoding
    tokens = encode_tasks([REGISTRY.get(t) for t in usable], encoder, progress)
    report = spider.add_model(name, given, tokens)
    report["spider_tasks"] = list(spider.tasks_)
    out = spider.save(output or user_checkpoint_dir())
    return report, out, path, len(spider.models_)


def zoo_frame(history: Path | None = None, progress: Progress = SILENT) -> tuple[pd.DataFrame, object]:
    """The zoo `rank` ranks: the history's models and, on the data folder's history, the models
    `zoo add-model` added to the user's own Spider (they are ranked too, so they are listed)."""
    from llm_spider.paths import user_checkpoint_dir

    h = load_history(history, progress)
    df = h.summary()
    if history is None and (user_checkpoint_dir() / "spider.json").is_file():
        from llm_spider.ranking.spider import SpiderRanker

        added = SpiderRanker.load(user_checkpoint_dir()).added_models_
        rows = [{"model": a["model"], "tasks_scored": len(a["scores"]), "mean_score": float(np.mean(list(a["scores"].values()))),
                 "source": f"zoo add-model ({user_checkpoint_dir()})"} for a in added if a["model"] not in set(df["model"])]
        df = pd.concat([df, pd.DataFrame(rows)], ignore_index=True) if rows else df
    return df.sort_values("mean_score", ascending=False, ignore_index=True), h


def fit_error_words(report: dict) -> str:
    """add_model's fit error said against the zoo's own: z-units mean nothing to a reader alone."""
    err, zoo = report["fit_rmse_z"], report["zoo_rmse_z"]
    verdict = ("a close fit" if err <= zoo else "a looser fit than the zoo's own models" if err <= 2 * zoo else
               "a poor fit: check that the scores are of these tasks and on the history's scale")
    return (f"its scores are reproduced to within {err:.2f} of a task's spread across the zoo (standard "
            f"deviations), the zoo's own models to within {zoo:.2f} on the same tasks: {verdict}")


def ignored_task_notes(report: dict) -> list[str]:
    """A line per task name add_model could not use: a misspelling gets the names it is close to."""
    from llm_spider.errors import closest

    known = report.get("spider_tasks", [])
    notes = []
    for t in report["ignored_tasks"]:
        near = closest(t, known, n=3)
        notes.append(f"ignored '{t}': the Spider was not trained on it" +
                     (f" (did you mean {', '.join(near)}?)" if near else ""))
    return notes


def train(history: Path | None = None, output: Path | None = None, seed: int = 0, epochs: int | None = None,
          n_prompts: int = DEFAULT_PROMPTS, prompt_seed: int = 0, cache_dir: Path | None = None,
          progress: Progress = SILENT):
    """Train a Spider on a score history (default: the data folder's leaderboard) and save it;
    returns the Spider, where it was written and the seconds the fit took."""
    from llm_spider import datasets
    from llm_spider.paths import user_checkpoint_dir
    from llm_spider.writing import ensure_writable

    h = load_history(history, progress)
    ensure_writable(output or user_checkpoint_dir(), "checkpoint")  # before the training, not after
    encoder = task_encoder(n_prompts, prompt_seed, cache_dir)
    spider, seconds = train_spider(h, encoder, random_state=seed, epochs=epochs,
                                   source=str(history) if history else "data:leaderboard",
                                   leaderboard_sha=None if history else datasets.content_sha("leaderboard"),
                                   progress=progress)
    return spider, spider.save(output or user_checkpoint_dir()), seconds


def benchmark_llm(protocols: list[str] | None = None, methods: list[str] | None = None,
                  seeds: list[int] | None = None, history: Path | None = None, n_prompts: int = DEFAULT_PROMPTS,
                  prompt_seed: int = 0, cache_dir: Path | None = None, progress: Progress = SILENT):
    """Every method on held-out tasks of the LLM history; returns (records, summary, skipped, encode seconds).

    Methods default to every registered ranker; seeds to 0..4 for methods with a random state, 0 else."""
    from llm_spider.benchmark import DEFAULT_PROTOCOLS, get_protocol, run_benchmark
    from llm_spider.benchmark.runner import count_folds, summarize
    from llm_spider.ranking import method_class, method_names, uses_seed

    protocols_ = [get_protocol(p) for p in (protocols or DEFAULT_PROTOCOLS)]
    methods = list(methods or method_names())
    uses_tokens = {m: method_class(m).needs_task_tokens for m in methods}  # validates names before any work
    seeds_ = {m: list(seeds) if seeds else (list(range(DEFAULT_SEEDS)) if uses_seed(m) else [0]) for m in methods}
    h = load_history(history, progress)
    applicable = [p for p in protocols_ if p.applies_to(h)]
    if not applicable:
        raise SpiderError(f"none of the protocols ({', '.join(p.name for p in protocols_)}) applies to this history: "
                          "they need mmlu_*/bbh_* (or hendrycksTest-*) task columns; try --protocol loto-all")
    encode_start = time.perf_counter()
    tokens = {}
    if any(uses_tokens.values()):
        tokens = encode_tasks(comparable_tasks(h), task_encoder(n_prompts, prompt_seed, cache_dir), progress)
    encode_seconds = time.perf_counter() - encode_start
    with progress.bar("benchmark folds", count_folds(h, applicable, seeds_)) as bar:
        result = run_benchmark(h, protocols_, methods, seeds_, tokens, on_fold=bar.advance)
    for rec in result.records:
        rec["history"] = str(history) if history else "data:leaderboard"
        if uses_tokens[rec["method"]]:
            rec["encoder_seconds"] = round(encode_seconds, 3)
    return result.records, summarize(result.records), result.skipped, encode_seconds
