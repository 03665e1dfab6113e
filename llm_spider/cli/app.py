"""The ``llm-spider`` command line: tasks, zoo, rank and benchmark."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from llm_spider.cli.output import Format, emit, stderr, write_json_atomic
from llm_spider.errors import SpiderError, UnknownNameError

app = typer.Typer(
    help="Rank the pre-trained models in a zoo for a task without running them all (Model Spider).\n\n"
         "Start with:  llm-spider rank --task mmlu_subset",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
tasks_app = typer.Typer(help="Browse the built-in tasks.", no_args_is_help=True)
zoo_app = typer.Typer(help="Browse the model zoo and its score history.", no_args_is_help=True)
benchmark_app = typer.Typer(help="Measure how well each ranking method works on historical tasks.",
                            no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
app.add_typer(zoo_app, name="zoo")
app.add_typer(benchmark_app, name="benchmark")

# The best method measured by `llm-spider benchmark llm` (see benchmarks/results/llm_leaderboard.json).
DEFAULT_METHOD = "spider"
DEFAULT_SEEDS = 5  # methods with a random state are benchmarked over seeds 0..4
DEFAULT_BENCHMARK_OUTPUT = Path("benchmarks/results/llm_leaderboard.json")

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]
HistoryOpt = Annotated[Optional[Path], typer.Option(
    "--history", help="Your own score table (CSV or parquet; long: model,task,score or wide: model + one "
                      "column per task). Default: the Open LLM Leaderboard table of the data folder.")]
DataDirOpt = Annotated[Optional[Path], typer.Option(
    "--data-dir", help="The data folder holding the public data sets (leaderboard/, mmlu/, bbh/, mc/, ...; "
                       "default: $LLM_SPIDER_DATA, else their Hugging Face Hub copies). See docs/data.md.")]
PromptsOpt = Annotated[int, typer.Option("--prompts", min=1, help="Prompts sampled per task for its representation.")]
CheckpointOpt = Annotated[Optional[Path], typer.Option(
    "--checkpoint", help="A Spider checkpoint directory (default: yours from `llm-spider train` / `zoo add-model` "
                         "if you have one, else the one shipped with the package).")]
PromptSeedOpt = Annotated[int, typer.Option("--prompt-seed", help="Seed for sampling the prompts.")]
CacheOpt = Annotated[Optional[Path], typer.Option("--cache-dir", help="Where task vectors are cached "
                                                                     "(default ~/.cache/llm-spider).")]


def user_errors(fn: Callable) -> Callable:
    """Print a user's mistake as one clear line and exit 2, instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SpiderError as exc:
            stderr.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def reads_data(fn: Callable) -> Callable:
    """Give a command that reads the public data sets a ``--data-dir`` option (one definition for all
    of them), and point the data layer at it before the command runs."""
    from llm_spider import datasets

    sig = inspect.signature(fn, eval_str=True)  # Typer reads a given signature as is: no string annotations
    option = inspect.Parameter("data_dir", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DataDirOpt)

    @functools.wraps(fn)
    def wrapper(*args, data_dir: Path | None = None, **kwargs):
        datasets.set_data_dir(data_dir)
        return fn(*args, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=[*sig.parameters.values(), option])
    wrapper.__annotations__ = {**fn.__annotations__, "data_dir": DataDirOpt}
    return wrapper


def load_history(path: Path | None):
    from llm_spider.zoo import History

    return History.from_file(path) if path else History.from_leaderboard()


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=stderr, transient=True)


def task_encoder(n_prompts: int, prompt_seed: int, cache_dir: Path | None):
    from llm_spider.encoders import TaskEncoder

    return TaskEncoder(n_prompts=n_prompts, seed=prompt_seed, cache_dir=cache_dir)


def encode_tasks(tasks: list, encoder) -> dict[str, np.ndarray]:
    """Token sets for ``tasks``, from the cache where possible, with a progress bar otherwise."""
    todo = [t for t in tasks if not encoder.is_cached(t)]
    if todo:
        stderr.print(f"Encoding {len(todo)} task(s) with {encoder.encoder.model_path.parent.name} "
                     f"({encoder.n_prompts} prompts each; cached for next time)")
    out = {t.name: encoder.encode(t) for t in tasks if t not in todo}
    with progress_bar() as bar:
        out.update(encoder.encode_many(todo, progress=lambda ts: bar.track(ts, description="encoding tasks")))
    return out


def encoder_info(encoder) -> dict:
    """What a Spider checkpoint records of the encoder, so ranking encodes tasks the same way."""
    return {"name": encoder.encoder.name, "n_prompts": encoder.n_prompts, "seed": encoder.seed}


def load_spider(checkpoint: Path | None, cache_dir: Path | None = None, leaderboard=None):
    """The Spider to rank with: ``checkpoint``, else the user's own, else the shipped one. The shipped
    one records the content hash of the leaderboard table it was trained on: when ``leaderboard``
    (the data layer's leaderboard history) comes from another table, a Spider is trained for that
    table once, into the user data dir, and reused from then on."""
    from llm_spider import datasets
    from llm_spider.paths import SHIPPED_CHECKPOINT, data_matched_checkpoint_dir, user_checkpoint_dir
    from llm_spider.ranking.spider import SpiderRanker

    if checkpoint is not None:
        return SpiderRanker.load(checkpoint), checkpoint
    if (user_checkpoint_dir() / "spider.json").is_file():
        return SpiderRanker.load(user_checkpoint_dir()), user_checkpoint_dir()
    shipped = SpiderRanker.load(SHIPPED_CHECKPOINT)
    if leaderboard is None or shipped.leaderboard_sha256_ in (None, sha := datasets.content_sha("leaderboard")):
        return shipped, SHIPPED_CHECKPOINT
    path = data_matched_checkpoint_dir(sha)
    if (path / "spider.json").is_file():
        return SpiderRanker.load(path), path
    stderr.print(f"note: this leaderboard table ({sha[:12]}) is not the one the shipped Spider was trained on "
                 f"({shipped.leaderboard_sha256_[:12]}): training a Spider for it once, into {path}")
    encoder = task_encoder(shipped.encoder_["n_prompts"], shipped.encoder_["seed"], cache_dir)
    spider, seconds = train_spider(leaderboard, encoder, random_state=shipped.random_state, source="data:leaderboard",
                                   leaderboard_sha=sha)
    spider.save(path)
    stderr.print(f"note: trained in {seconds:.1f}s on {len(spider.tasks_)} tasks × {len(spider.models_)} models; "
                 "later runs on this table reuse it")
    return spider, path


def train_spider(history, encoder, random_state: int = 0, epochs: int | None = None, source: str = "",
                 leaderboard_sha: str | None = None):
    """Fit a Spider on ``history`` (its tasks with prompts) with a progress bar; returns it and the seconds
    the fit took. It remembers its encoder, its source and, when ``history`` is the data layer's
    leaderboard, that table's content hash (``leaderboard_sha``)."""
    from llm_spider.ranking.spider import SpiderRanker

    known = comparable_tasks(history)
    if not known:
        raise SpiderError("none of the history's tasks is a built-in task with prompts; the Spider needs them")
    tokens = encode_tasks(known, encoder)
    spider = SpiderRanker(random_state=random_state, **({"epochs": epochs} if epochs else {}))
    start = time.perf_counter()
    with progress_bar() as bar:
        job = bar.add_task("training the Spider (epochs)", total=spider.epochs)
        spider._on_epoch = lambda epoch: bar.update(job, completed=epoch)
        spider.fit(history, tokens)
    spider._on_epoch = None
    spider.encoder_ = encoder_info(encoder)
    spider.trained_on_, spider.leaderboard_sha256_ = source, leaderboard_sha
    return spider, time.perf_counter() - start


def checkpoint_encoder(spider, cache_dir: Path | None, n_prompts: int | None, prompt_seed: int | None):
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


def comparable_tasks(history) -> list:
    """The history's tasks that the registry knows: only those have prompts to compare."""
    from llm_spider.tasks import REGISTRY

    return [REGISTRY.get(t) for t in history.tasks if t in REGISTRY]


# --- tasks ---------------------------------------------------------------------------------------
@tasks_app.command("list")
@user_errors
@reads_data
def tasks_list(
    family: Annotated[Optional[str], typer.Option(help="Only this family: mmlu, bbh or mc.")] = None,
    fmt: FormatOpt = Format.table,
):
    """List the built-in tasks (MMLU subjects, BIG-Bench-Hard, multiple-choice sets)."""
    from llm_spider.tasks import REGISTRY

    df = REGISTRY.to_frame()
    if family:
        if family not in set(df["family"]):
            raise UnknownNameError("family", family, sorted(set(df["family"])))
        df = df[df["family"] == family]
    emit(df, fmt, title=f"{len(df)} tasks")


@tasks_app.command("show")
@user_errors
@reads_data
def tasks_show(
    name: Annotated[str, typer.Argument(help="A task name from `llm-spider tasks list`.")],
    n: Annotated[int, typer.Option("-n", help="How many example prompts to print.")] = 2,
):
    """Show a task's description and a few rendered prompts."""
    from llm_spider.tasks import get_task

    task = get_task(name)
    print(f"{task.name}: {task.description}\nitems: {len(task.items)}; template: prompts/{task.template}")
    if len(task.components) > 1:
        print(f"scored as the question-weighted mean of: {', '.join(task.components)}")
    for item in task.items[:n]:
        print("-" * 60 + "\n" + task.render(item))


# --- zoo -----------------------------------------------------------------------------------------
@zoo_app.command("list")
@user_errors
@reads_data
def zoo_list(history: HistoryOpt = None,
             zoo: Annotated[Optional[str], typer.Option("--zoo", help="A local zoo of runnable models (`local`, "
                                                        "`multisource`, or a zoo file/directory): which members are "
                                                        "installed, and how to install the rest.")] = None,
             fmt: FormatOpt = Format.table):
    """List the models of the zoo with how many tasks each was scored on (or, with --zoo, a local zoo)."""
    if zoo:
        from llm_spider.cli.live import local_zoo_table

        return local_zoo_table(zoo, fmt)
    h = load_history(history)
    df = h.summary().sort_values("mean_score", ascending=False)
    if fmt is Format.table:  # the full metadata is in --format json/csv
        df = df[[c for c in ("model", "tasks_scored", "mean_score", "family", "params_b", "instruct") if c in df]]
    emit(df, fmt, title=f"{len(h.models)} models × {len(h.tasks)} tasks")


@zoo_app.command("add-model")
@user_errors
@reads_data
def zoo_add_model(
    name: Annotated[str, typer.Argument(help="The new model's name.")],
    scores: Annotated[Path, typer.Option("--scores", help="CSV with columns task,score: the model's scores on at least "
                                         "3 history tasks (same scale as the history, e.g. accuracy in [0, 1]).")],
    checkpoint: CheckpointOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Where to write the extended checkpoint "
                                                   "(default: your own, which `rank` then uses).")] = None,
    cache_dir: CacheOpt = None,
):
    """Add a model to the Spider without retraining: only its own token is fitted, from a few scores.

    Example: llm-spider zoo add-model my-model --scores my_scores.csv
    """
    from llm_spider.paths import user_checkpoint_dir
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.history import model_scores_from_file

    given = model_scores_from_file(scores, name)
    spider, path = load_spider(checkpoint, cache_dir, load_history(None))
    encoder = checkpoint_encoder(spider, cache_dir, None, None)
    usable = [t for t in given if t in spider.tasks_ and t in REGISTRY]
    tokens = encode_tasks([REGISTRY.get(t) for t in usable], encoder)
    report = spider.add_model(name, given, tokens)
    out = spider.save(output or user_checkpoint_dir())
    stderr.print(f"fitted '{name}' from {len(report['tasks_used'])} task(s) ({', '.join(report['tasks_used'])}); "
                 f"fit error {report['fit_rmse_z']:.3f} (standardised units)")
    if report["ignored_tasks"]:
        stderr.print(f"note: ignored {len(report['ignored_tasks'])} task(s) the Spider was not trained on: "
                     f"{', '.join(report['ignored_tasks'][:8])}")
    print(f"checkpoint with {len(spider.models_)} models written to {out} (from {path})")


# --- rank ----------------------------------------------------------------------------------------
@app.command()
@user_errors
@reads_data
def rank(
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="A built-in task (see `llm-spider tasks list`).")] = None,
    task_file: Annotated[Optional[Path], typer.Option("--task-file", help="Your own task: JSONL or CSV with "
                                                      "fields question, choices, answer (answer optional).")] = None,
    method: Annotated[str, typer.Option("--method", "-m", help="Ranking method: spider, similar-tasks, leaderboard, random.")] = DEFAULT_METHOD,
    top: Annotated[Optional[int], typer.Option("--top", "-n", min=1, help="Show only the best N models.")] = None,
    models: Annotated[Optional[str], typer.Option("--models", help="Comma-separated model names: rank only these.")] = None,
    history: HistoryOpt = None,
    checkpoint: CheckpointOpt = None,
    keep_target_scores: Annotated[bool, typer.Option(
        "--keep-target-scores", help="Let the ranker see the history's scores on the target task itself "
                                     "(by default they are hidden, so the ranking is a real prediction).")] = False,
    n_prompts: Annotated[Optional[int], typer.Option("--prompts", min=1, help="Prompts sampled per task for its "
                                                     "representation (default 32, or the checkpoint's).")] = None,
    prompt_seed: Annotated[Optional[int], typer.Option("--prompt-seed", help="Seed for sampling the prompts "
                                                       "(default 0, or the checkpoint's).")] = None,
    cache_dir: CacheOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Random state for methods that use one.")] = 0,
    fmt: FormatOpt = Format.table,
):
    """Rank the zoo's models for a task, best first.

    The default method, spider, ranks with a trained checkpoint (no training at rank time); with --history it is fitted on your table first. The table shows each model's predicted score (spider: standardised units, about a z-score across the zoo; leaderboard and similar-tasks: the history's scale) and, where the history has one, its recorded true score on the task.

    Example: llm-spider rank --task mmlu_subset --top 10
    """
    from llm_spider.ranking import TaskView, make_ranker, method_class
    from llm_spider.tasks import get_task, load_task_file

    if (task is None) == (task_file is None):
        raise SpiderError("give exactly one of --task NAME or --task-file PATH")
    target = get_task(task) if task else load_task_file(task_file)
    method_class(method)  # validate the name before any work
    h = load_history(history)
    truth = h.task_scores(target.components) if target.components else None
    hidden = [] if keep_target_scores else [c for c in target.components if c in h.tasks]
    notes: list[str] = []
    start = time.perf_counter()
    use_checkpoint = method == "spider" and (history is None or checkpoint is not None)
    if use_checkpoint:
        ranker, path = load_spider(checkpoint, cache_dir, None if history else h)
        encoder = checkpoint_encoder(ranker, cache_dir, n_prompts, prompt_seed)
        tokens = encode_tasks([target], encoder)
        seen = [c for c in hidden if c in ranker.tasks_]
        if seen:
            notes.append(f"the Spider checkpoint ({path}) was trained on all history tasks, these {len(seen)} included; "
                         "its history look-up skips them, but its model tokens saw them: for held-out accuracy "
                         "see `llm-spider benchmark llm`")
    else:
        ranker = make_ranker(method, random_state=seed)
        fit_history = h.drop_tasks(hidden)
        if not fit_history.tasks:
            raise SpiderError("no history tasks left to learn from once the target's own scores are hidden")
        tokens = {}
        if ranker.needs_task_tokens:  # one pass, so the encoder is loaded at most once
            encoder = task_encoder(n_prompts or 32, 0 if prompt_seed is None else prompt_seed, cache_dir)
            tokens = encode_tasks([*comparable_tasks(fit_history), target], encoder)
        if method == "spider":
            notes.append("spider was fitted on your --history now; save it with `llm-spider train --history ...` "
                         "and pass --checkpoint to skip this next time")
        ranker.fit(fit_history, tokens or None)
    ranking = ranker.rank(TaskView(target.name, tokens.get(target.name), exclude=tuple(hidden)))
    if models:
        wanted = [m.strip() for m in models.split(",") if m.strip()]
        known = set(ranker.models_)
        for m in wanted:
            if m not in known:
                raise UnknownNameError("model", m, ranker.models_)
        ranking.scores = ranking.scores[ranking.scores.index.isin(wanted)]
    seconds = time.perf_counter() - start
    shown = ranking.top(top) if top else ranking
    df = shown.to_frame(truth if truth is not None and truth.notna().any() else None)
    emit(df, fmt, title=f"{target.name}: {len(ranking.models)} models ranked by {method} in {seconds:.1f}s")
    for note in ranking.notes + notes:
        stderr.print(f"note: {note}")
    if hidden and not use_checkpoint:
        stderr.print(f"note: the history's scores on {len(hidden)} task(s) of '{target.name}' were hidden from "
                     "the ranker and are shown as true_score (use --keep-target-scores to use them)")


# --- train ---------------------------------------------------------------------------------------
@app.command()
@user_errors
@reads_data
def train(
    history: HistoryOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Checkpoint directory to write "
                                                   "(default: your own, which `rank` then uses).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random state of the training.")] = 0,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Upper bound on epochs (early stopping "
                                                  "usually ends sooner).")] = None,
    n_prompts: PromptsOpt = 32,
    prompt_seed: PromptSeedOpt = 0,
    cache_dir: CacheOpt = None,
):
    """Train the Spider on a score history and save it as a checkpoint (safetensors + JSON).

    On the data folder's leaderboard this reproduces the checkpoint shipped with the package:

      llm-spider train --output llm_spider/data/spider
    """
    from llm_spider import datasets
    from llm_spider.paths import user_checkpoint_dir

    h = load_history(history)
    encoder = task_encoder(n_prompts, prompt_seed, cache_dir)
    spider, seconds = train_spider(h, encoder, random_state=seed, epochs=epochs,
                                   source=str(history) if history else "data:leaderboard",
                                   leaderboard_sha=None if history else datasets.content_sha("leaderboard"))
    out = spider.save(output or user_checkpoint_dir())
    log = spider.fit_log_
    stderr.print(f"trained on {len(spider.tasks_)} tasks × {len(spider.models_)} models in {seconds:.1f}s "
                 f"(best epoch {log['best_epoch']} of {log['epochs_run']}; validation weighted τ "
                 f"{log['val_weighted_tau'] if log['val_weighted_tau'] is None else round(log['val_weighted_tau'], 4)}"
                 f" on {log['val_tasks']} held-out tasks)")
    print(f"checkpoint written to {out}")


# --- benchmark -----------------------------------------------------------------------------------
@benchmark_app.command("llm")
@user_errors
@reads_data
def benchmark_llm(
    protocol: Annotated[Optional[list[str]], typer.Option(
        "--protocol", "-p", help="loto-mmlu, loto-bbh, mmlu-to-bbh (default: all three) or loto-all.")] = None,
    method: Annotated[Optional[list[str]], typer.Option("--method", "-m", help="Methods to compare (default: all).")] = None,
    seed: Annotated[Optional[list[int]], typer.Option("--seed", "-s", help="Random seeds (repeatable; default: 0..4 for "
                                                     "methods with a random state, e.g. spider, and 0 for the others).")] = None,
    history: HistoryOpt = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the JSON records.")] = DEFAULT_BENCHMARK_OUTPUT,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also save a PNG of weighted τ per protocol and method.")] = None,
    n_prompts: PromptsOpt = 32,
    prompt_seed: PromptSeedOpt = 0,
    cache_dir: CacheOpt = None,
    fmt: FormatOpt = Format.table,
):
    """Compare ranking methods on the LLM score history with held-out tasks.

    loto-mmlu leaves one MMLU subject out, loto-bbh one BIG-Bench-Hard subtask, mmlu-to-bbh fits on MMLU and ranks each BBH subtask.

    Each row: mean weighted τ (± its sd over seeds), mean top-1 regret, top-1 hit rate and the seconds the method spent fitting (spider: once per fold) and ranking. One record per protocol, method and seed goes to --output as JSON.
    """
    from llm_spider.benchmark import DEFAULT_PROTOCOLS, get_protocol, run_benchmark
    from llm_spider.benchmark.runner import count_folds, summarize
    from llm_spider.ranking import method_class, method_names, uses_seed

    protocols = [get_protocol(p) for p in (protocol or DEFAULT_PROTOCOLS)]
    methods = list(method or method_names())
    uses_tokens = {m: method_class(m).needs_task_tokens for m in methods}  # validates names before any work
    seeds = {m: list(seed) if seed else (list(range(DEFAULT_SEEDS)) if uses_seed(m) else [0]) for m in methods}
    h = load_history(history)
    applicable = [p for p in protocols if p.applies_to(h)]
    if not applicable:
        raise SpiderError(f"none of the protocols ({', '.join(p.name for p in protocols)}) applies to this history: "
                          "they need mmlu_*/bbh_* (or hendrycksTest-*) task columns; try --protocol loto-all")
    encode_start = time.perf_counter()
    tokens = {}
    if any(uses_tokens.values()):
        tokens = encode_tasks(comparable_tasks(h), task_encoder(n_prompts, prompt_seed, cache_dir))
    encode_seconds = time.perf_counter() - encode_start
    with progress_bar() as bar:
        job = bar.add_task("benchmark folds", total=count_folds(h, applicable, seeds))
        result = run_benchmark(h, protocols, methods, seeds, tokens, on_fold=lambda: bar.advance(job))
    for msg in result.skipped:
        stderr.print(f"skipped: {msg}")
    for rec in result.records:
        rec["history"] = str(history) if history else "data:leaderboard"
        if uses_tokens[rec["method"]]:
            rec["encoder_seconds"] = round(encode_seconds, 3)
    write_json_atomic(output, result.records)
    summary = summarize(result.records)
    if plot:
        save_benchmark_plot(summary, plot)
    shown = summary
    if fmt is Format.table:  # narrow enough for a terminal; --format json/csv has every column
        shown = pd.DataFrame({
            "protocol": summary["protocol"], "method": summary["method"],
            "weighted τ": [f"{m:.4f}" + (f" ± {sd:.4f}" if n > 1 else "") for m, sd, n in
                           zip(summary["weighted_tau"], summary["weighted_tau_sd"], summary["seeds"])],
            "top-1 regret": summary["top1_regret"], "top-1 hit": summary["top1_hit"],
            "seconds": summary["seconds"], "seeds": summary["seeds"], "models": summary["n_models"]})
    emit(shown, fmt, title="LLM zoo benchmark (means over held-out tasks; ± sd over seeds)")
    stderr.print(f"task encoding: {encode_seconds:.1f}s (cached vectors are reused); records written to {output}")


def save_benchmark_plot(df: pd.DataFrame, path: Path) -> None:
    """Weighted τ per protocol and method; beside the leaderboard baseline, as the gain over it
    (the methods differ by hundredths, invisible on an absolute scale next to random)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = df.pivot(index="protocol", columns="method", values="weighted_tau")
    errors = df.pivot(index="protocol", columns="method", values="weighted_tau_sd")
    others = [m for m in means if m not in ("leaderboard", "random")] if "leaderboard" in means else []
    fig, axes = plt.subplots(1, 2 if others else 1, figsize=(11 if others else 7, 4.5), squeeze=False)
    ax = axes[0, 0]
    means.plot.bar(ax=ax, rot=0, yerr=errors, capsize=2, legend=False)
    ax.set_ylabel("mean weighted Kendall's τ (± sd over seeds)")
    ax.set_title("Ranking the LLM zoo on held-out tasks")
    ax.axhline(0, color="black", linewidth=0.6)
    if others:
        gain = means[others].sub(means["leaderboard"], axis=0)
        ax2 = axes[0, 1]
        gain.plot.bar(ax=ax2, rot=0, yerr=errors[others], capsize=2, legend=False,
                      color=[ax.patches[list(means).index(m) * len(means)].get_facecolor() for m in others])
        ax2.axhline(0, color="black", linewidth=0.6)
        ax2.set_ylabel("weighted τ minus the leaderboard baseline's")
        ax2.set_title("Gain over the leaderboard average")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, title="method", fontsize=8, loc="upper right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    app()
