"""`select` as a library call: the best member of a zoo for a task, to a stated confidence, with a
prior from the history (the zoo's other tasks) and adaptive evaluation of items. A recorded zoo
answers items from its store; a local zoo (``--zoo local``) runs its members live, through the
resumable run logs of `evaluate`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.progress import SILENT, Progress


@dataclass
class SelectResult:
    result: object  # selection.AdaptiveResult
    prior: str
    prior_strength: float
    truth: pd.Series | None  # the task's measured accuracies, shown beside (never used to select)
    forward_passes: int | None = None  # live zoos: items really run (the rest came from run logs)
    trace: list[tuple[int, float, str]] | None = None  # (evaluations spent, P(pick good), pick) at each look
    seconds: dict[str, float] = field(default_factory=dict)  # wall time: total, and its parts (prior, evaluation)
    prior_cached: bool = False  # the prior was read from the cache (computed by an earlier select)
    usage: dict[str, int] = field(default_factory=dict)  # tokens served members reported for items run now
    task: str = ""  # the task's name (a task file's is its file name)
    generated: list[dict] = field(default_factory=list)  # a generated-answer task: a few of the pick's answers


def recorded_tokens(zoo, level: str | None = None, progress: Progress = SILENT,
                    cache_dir: Path | None = None) -> dict[str, np.ndarray]:
    """General tokens of a recorded zoo's tasks at ``level``: the sentence encoder over their
    questions (cached like any task's)."""
    from llm_spider.api.llm import encode_tasks, task_encoder

    return encode_tasks(zoo.as_tasks(level), task_encoder(cache_dir=cache_dir), progress)


def recorded_items(zoo, level: str | None = None, progress: Progress = SILENT, cache_dir: Path | None = None):
    """A recorded zoo's per-item outcomes at ``level`` with every item's question vector (encoded
    once, then cached): what the item-level prior learns from (ranking/items)."""
    from llm_spider.encoders.items import ItemEncoder
    from llm_spider.encoders.sentence import SentenceEncoder
    from llm_spider.ranking.items import ItemData
    from llm_spider.tasks.base import LETTERS, render_template

    q = zoo.questions
    if "question" not in q.columns:
        raise SpiderError(f"recorded zoo '{zoo.name}' has no question text to encode")
    options = q["options"] if "options" in q.columns else [()] * len(q)
    # every question of the zoo, in its own order, whatever the level: one cache entry for all levels
    texts = [render_template("mc.jinja", question=str(text), choices=[str(o) for o in (opts if opts is not None else ())],
                             letters=LETTERS, topic="") for text, opts in zip(q["question"], options)]
    ids = q["question_id"].to_numpy()
    where = pd.Index(ids).get_indexer
    rows = {t: where(t_ids) for t, t_ids in zoo.tasks(level).items()}
    encoder = ItemEncoder(SentenceEncoder(), cache_dir=cache_dir)
    if encoder.is_cached(texts):
        X = encoder.encode(texts)
    else:
        progress.note(f"Encoding the {len(texts):,} questions of '{zoo.name}' once for the item-level prior "
                      "(cached for next time)")
        with progress.bar("encoding questions", len(texts)) as bar:
            X = encoder.encode(texts, on_chunk=bar.advance)
    Y = zoo._correct.reindex(index=ids, columns=zoo.members).to_numpy(dtype=np.float64)
    return ItemData(list(zoo.members), X, Y, rows)


def _recorded(task: str, zoo: str, level: str | None, members: list[str] | None, progress: Progress,
              cache_dir: Path | None = None):
    from llm_spider.selection import RecordedEvaluator
    from llm_spider.zoo.recorded import load_recorded

    z = load_recorded(zoo)
    evaluator = RecordedEvaluator(z, level)
    evaluator.items(task)  # an unknown task fails here, with the closest names
    unknown = [m for m in members or [] if m not in z.members]
    if unknown:
        raise SpiderError(f"not a member of '{zoo}': {', '.join(unknown)}")
    return (evaluator, z.history(level), lambda: recorded_tokens(z, level, progress, cache_dir), members or z.members,
            lambda: z.questions_key(level), lambda: recorded_items(z, level, progress, cache_dir))


def _live(task: str, zoo: str, members: list[str] | None, run, results: Path | None, large: bool,
          cache_dir: Path | None, progress: Progress, executor: str = "local", ray_address: str | None = None,
          ray_actors: int = 1, in_flight: int = 1, ray_gpus: float = 0.0, scoring=None):
    from functools import partial

    from llm_spider.api.live import pick_models, prepare_members, run_scoring, zoo_results
    from llm_spider.api.llm import encode_tasks, task_encoder
    from llm_spider.executors import open_scorer
    from llm_spider.paths import user_local_zoo_dir
    from llm_spider.selection.live import LiveEvaluator
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.evaluate import LocalStore
    from llm_spider.zoo.local import load_backend

    run_scoring(REGISTRY.get(task), scoring)  # an unknown or unscorable task fails before any model loads
    z, history, _, _ = zoo_results(zoo, results, allow_empty=True)
    chosen = pick_models(z, ",".join(members) if members else None, large, progress)
    preps = prepare_members(chosen, run, cache_dir, progress)  # every member checked before any runs
    if executor == "local":
        def open_member(m):
            return load_backend(m, cache_dir=cache_dir, progress=progress, prepared=preps[m.name])
    else:  # actors load the member where they run
        def open_member(m):
            return open_scorer(executor, partial(load_backend, m, cache_dir=cache_dir, prepared=preps[m.name]),
                               preps[m.name].label, ray_address, ray_actors, m.name, ray_gpus)
    evaluator = LiveEvaluator(chosen, open_member, LocalStore(results or user_local_zoo_dir(z.name)),
                              {m: p.label for m, p in preps.items()}, chunk={m: p.chunk for m, p in preps.items()},
                              slots=in_flight, on_wait=progress.note, scoring=scoring)
    known = [REGISTRY.get(t) for t in sorted({*history.tasks, task}) if t in REGISTRY]
    return (evaluator, history, lambda: encode_tasks(known, task_encoder(cache_dir=cache_dir), progress),
            [m.name for m in chosen],
            lambda: "live:" + ",".join(t.fingerprint for t in known), z)  # what the tokens are computed from


def select(task: str | None, zoo: str = "mmlu-pro", level: str | None = None, prior: str = "auto",
           prior_strength: float | None = None, epsilon: float = 0.02, confidence: float = 0.95,
           budget: int | None = None, budget_share: float | None = None, members: list[str] | None = None,
           seed: int = 0, backend: str | None = None, batch_size: int | None = None, threads: int | None = None,
           results: Path | None = None, large: bool = False, cache_dir: Path | None = None,
           label_free: bool = False, progress: Progress = SILENT, executor: str = "local",
           ray_address: str | None = None, ray_actors: int = 1, in_flight: int | None = None,
           ray_gpus: float = 0.0, dtype: str | None = None, device: str | None = None,
           trust_remote_code: bool = False, concurrency: int | None = None, task_file: Path | None = None,
           scoring=None, sources=None) -> SelectResult:
    """Select on zoo ``zoo`` (recorded, or a local zoo run live) for ``task``. The prior comes from
    the zoo's other tasks only; its strength, unless given, is calibrated on them (selection/prior.py).
    ``label_free``: judge members by agreement with a panel of the prior's top members instead of
    by the answer key (selection/labelfree.py). ``executor="ray"``: a local zoo's members are
    scored by actors on a Ray cluster (llm_spider.executors), ``in_flight`` batches at once (default
    two per actor of a member: the leader's and the challenger's actors kept busy), each actor
    reserving ``ray_gpus`` GPUs; on a recorded zoo
    ``in_flight`` replays such a cluster (batches end in the order asked). A ``KeyboardInterrupt``
    of a live run becomes ``api.live.Interrupted`` (every scored item is kept). On a live zoo
    ``task_file`` (a user's task), ``lm-eval:``/``hf:`` task names (``sources``) and ``scoring``
    (tasks.scoring.Scoring) are as `evaluate` takes them."""
    from llm_spider.executors import EXECUTORS
    from llm_spider.selection import select_adaptive
    from llm_spider.selection.prior import PRIORS, compute_prior
    from llm_spider.zoo.weights import run_options
    from llm_spider.zoo.zoofile import is_zoo_file_name, looks_like_file

    start = time.perf_counter()
    run = run_options(backend, dtype, device, batch_size, threads, trust_remote_code, concurrency)
    if prior not in PRIORS:
        raise SpiderError(f"prior must be one of {', '.join(PRIORS)}, got {prior!r}")
    if budget is not None and budget_share is not None:
        raise SpiderError("give --budget or --budget-share, not both")
    if executor not in EXECUTORS:
        raise SpiderError(f"unknown executor '{executor}'; executors: {', '.join(EXECUTORS)}")
    live = is_zoo_file_name(zoo)  # a shipped, user's or file zoo runs live; anything else is recorded
    if not live and looks_like_file(zoo):
        raise SpiderError(f"{zoo}: no such zoo file")
    if in_flight is not None and in_flight < 1:
        raise SpiderError(f"--in-flight must be at least 1, got {in_flight}")
    if live and executor == "local" and (in_flight or 1) > 1:
        raise SpiderError("--in-flight above 1 needs --executor ray: the local executor scores one batch at a time")
    if in_flight is None:
        in_flight = 2 * ray_actors if live and executor == "ray" else 1
    if live and executor == "ray" and ray_gpus:
        from llm_spider.executors.ray import check_gpus
        from llm_spider.selection.live import LOADED

        check_gpus(max(LOADED, in_flight) * ray_actors, ray_gpus, ray_address)  # the members loaded at once
    if task is None and task_file is None:
        raise SpiderError("say which task: --task NAME or --task-file PATH")
    if (task_file is not None or scoring is not None or sources is not None) and not live:
        if task_file is not None or (scoring is not None and (scoring.mode or scoring.generation)):
            raise SpiderError(f"--task-file and --scoring run members: '{zoo}' is a recorded zoo, whose items are "
                              "answered from its records; use a zoo whose members run (--zoo local, or yours)")
    if live:
        from llm_spider.tasks.resolve import TaskSources, resolve_task, task_from_file

        if task_file is not None and task:
            raise SpiderError("give --task or --task-file, not both")
        task = (task_from_file(Path(task_file)) if task_file is not None
                else resolve_task(task, sources or TaskSources())).name
        items = None  # a live zoo keeps no per-item outcomes of other tasks to learn from
        evaluator, history, tokens, candidates, tokens_key, z = _live(
            task, zoo, members, run, results, large, cache_dir, progress, executor, ray_address, ray_actors,
            in_flight, ray_gpus, scoring)
    else:
        evaluator, history, tokens, candidates, tokens_key, items = _recorded(task, zoo, level, members, progress,
                                                                               cache_dir)
    others = history.drop_tasks([task]) if task in history.tasks else history
    if live:  # a user's zoo may have no results of its own: a mapped or flat prior, said before any runs
        from llm_spider.api.zoo_prior import live_prior

        try:
            others, prior = live_prior(z, others, candidates, prior, task, progress)
        except BaseException:
            evaluator.close()
            raise
    mean, strength, shift_var, outliers, cached = None, 0.0, None, 0.0, False
    prior_start = time.perf_counter()
    if prior != "flat":
        with progress.bar("calibrating the prior on the history") as bar:
            p = compute_prior(prior, others, task, tokens, tokens_key(), cache_dir,
                              on_calibrate=lambda e: bar.update(description=f"calibrating the {e} prior on the history"),
                              items=items)
        if prior == "auto":
            progress.note("auto: " + ", ".join(f"{e} worth {c.strength:.1f} items" for e, c in p.calibrations.items())
                          + f" on the history; taking {p.name}")
        prior, mean, cal, cached = p.name, p.mean, p.calibration, p.cached
        strength = cal.strength if prior_strength is None else prior_strength
        shift_var, outliers = cal.shift_var, cal.outlier_share
        progress.note(f"prior: {prior} from the other {len(others.tasks)} tasks, worth {strength:.1f} items"
                      + (" (calibrated on them" + ("; cached" if cached else "") + ")" if prior_strength is None else "")
                      + f" beside the task's common shift (sd {shift_var ** 0.5:.3f} before any item)")
    prior_seconds = time.perf_counter() - prior_start
    if budget_share is not None:
        budget = int(budget_share * len(candidates) * len(evaluator.items(task)))
    judge = evaluator
    if label_free:
        from llm_spider.selection.labelfree import ConsensusEvaluator, panel

        judge = ConsensusEvaluator(evaluator, panel(mean, candidates))
        progress.note(f"label-free: members judged by agreement with {', '.join(judge.panel)}")
    eval_start = time.perf_counter()
    try:
        trace: list[tuple[int, float, str]] = []
        with progress.bar("evaluating items") as bar:
            def step(spent: int, most: int, p_good: float, pick: str) -> None:
                trace.append((spent, p_good, pick))
                bar.update(completed=spent, total=most,
                           description=f"evaluating items · P(pick within {epsilon} of the best) {p_good:.2f}")

            result = select_adaptive(judge, task, candidates, mean, strength, shift_var, outliers, epsilon=epsilon,
                                     confidence=confidence, budget=budget, seed=seed, on_step=step,
                                     in_flight=in_flight)
        if label_free:  # the panel's answers are paid for too
            result = replace(result, evaluations=judge.unique_evaluations)
    except KeyboardInterrupt:
        from llm_spider.api.live import Interrupted

        raise Interrupted("every scored item is kept in the run logs; rerun the same command to resume") from None
    finally:
        if live:
            evaluator.close()
    generated = evaluator.generated(result.pick, task) if live else []
    truth = history.wide()[task].reindex(candidates) if task in history.tasks else None
    end = time.perf_counter()
    seconds = {"total": end - start, "prior": prior_seconds, "evaluation": end - eval_start}
    return SelectResult(result, prior, strength, truth, evaluator.forward_passes if live else None, trace, seconds,
                        cached, dict(evaluator.usage) if live else {}, task, generated)
