"""The ``llm-spider`` commands for the LLM zoo: tasks, zoo, rank, train and benchmark.

Each command parses its options, calls llm_spider.api and prints; the shared apps and options are in
cli/common.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from llm_spider import api
from llm_spider.cli.common import (
    PROGRESS,
    CacheOpt,
    CheckpointOpt,
    FormatOpt,
    HistoryOpt,
    PromptSeedOpt,
    PromptsOpt,
    app,
    benchmark_app,
    reads_data,
    tasks_app,
    user_errors,
    zoo_app,
)
from llm_spider.cli.taskopts import IncludeOpt, sources_from
from llm_spider.errors import UnknownNameError
from llm_spider.output import Format, emit, stderr
from llm_spider.writing import check_output, write_json_atomic
from llm_spider.ranking.registry import RANKERS

DEFAULT_BENCHMARK_OUTPUT = Path("benchmarks/results/llm_leaderboard.json")


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
             zoo: Annotated[Optional[str], typer.Option("--zoo", help="A zoo of runnable models (`local`, "
                                                        "`multisource`, one of yours, or a zoo file): its members, "
                                                        "which are installed, and how to install the rest.")] = None,
             zoos: Annotated[bool, typer.Option("--zoos", help="Every zoo you can name with --zoo: shipped, yours "
                                                "(`zoo create`) and recorded.")] = False,
             fmt: FormatOpt = Format.table):
    """List the models of the history with how many tasks each was scored on; with --zoo a runnable
    zoo's members; with --zoos every zoo."""
    if zoos:
        from llm_spider.api.zoos import zoos_frame

        df = zoos_frame()
        return emit(df.drop(columns=["where"]) if fmt is Format.table else df, fmt, title=f"{len(df)} zoos "
                    "(`zoo show NAME` prints one; `zoo create` makes one of yours)")
    if zoo:
        df, z = api.local_zoo_frame(zoo)
        return emit(df, fmt, title=f"zoo '{z.name}': {z.description}")
    df, h = api.zoo_frame(history, PROGRESS)
    added = int(df["source"].astype(str).str.startswith("zoo add-model").sum())
    if fmt is Format.table:  # the full metadata is in --format json/csv
        df = df.assign(added=df["source"].astype(str).str.startswith("zoo add-model").map({True: "yes", False: ""}))
        shown = ("model", "tasks_scored", "mean_score", "family", "params_b", "instruct", *(("added",) if added else ()))
        df = df[[c for c in shown if c in df]]
    emit(df, fmt, title=f"{len(h.models)} models × {len(h.tasks)} tasks" + (f", and {added} added by `zoo add-model`"
                                                                            if added else ""))


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
    report, out, path, n_models = api.add_model(name, scores, checkpoint, output, cache_dir, PROGRESS)
    stderr.print(f"fitted '{name}' from {len(report['tasks_used'])} task(s) ({', '.join(report['tasks_used'])}); "
                 f"{api.fit_error_words(report)}", soft_wrap=True)
    for note in api.ignored_task_notes(report):
        stderr.print(f"note: {note}", soft_wrap=True)
    stderr.print(f"checkpoint with {n_models} models written to {out} (from {path})", highlight=False)


# --- rank ----------------------------------------------------------------------------------------
@app.command()
@user_errors
@reads_data
def rank(
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="A built-in task (see `llm-spider tasks list`), "
                                                "lm-eval:NAME or hf:PATH[:CONFIG]:SPLIT.")] = None,
    task_file: Annotated[Optional[Path], typer.Option("--task-file", help="Your own task: JSONL or CSV with "
                                                      "fields question, choices, answer (answer optional).")] = None,
    method: Annotated[str, typer.Option("--method", "-m", help=f"Ranking method: {', '.join(RANKERS.names())}.")] = api.DEFAULT_METHOD,
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
    raw: Annotated[bool, typer.Option("--raw", help="Also show the method's own score (predicted_score; the "
                                                    "Spider's is standardised across the zoo).")] = False,
    lm_eval_include: IncludeOpt = None,
    fmt: FormatOpt = Format.table,
):
    """Rank the zoo's models for a task, best first, with each one's predicted accuracy on it.

    The default method, spider, ranks with a trained checkpoint (no training at rank time); with --history it is fitted on your table first. Each model's predicted accuracy comes with a 90 % interval (accuracy_low to accuracy_high): the task's difficulty is read from the most similar history tasks, and the interval holds the middle 90 % of the errors the method made on history tasks held out in turn. Where the history has one, the model's recorded true score on the task is shown beside it.

    Example: llm-spider rank --task mmlu_subset --top 10
    """
    result = api.rank(task, task_file, method, api.split_names(models), history, checkpoint, keep_target_scores,
                      n_prompts, prompt_seed, cache_dir, seed, PROGRESS,
                      sources_from(lm_eval_include, "question", "choices", "answer"))
    df = result.frame(top, raw)
    title = f"{result.ranking.task}: {len(result.ranking.models)} models ranked by {method} in {result.seconds:.1f}s"
    if result.accuracy_map is not None:
        m = result.accuracy_map
        title += (f"; accuracy with a 90 % interval (learnt on {m.tasks} history tasks held out in turn: "
                  f"mean error {m.mae:.3f})")
    emit(df, fmt, title=title)
    for note in result.notes:
        stderr.print(f"note: {note}")


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
    spider, out, seconds = api.train(history, output, seed, epochs, n_prompts, prompt_seed, cache_dir, PROGRESS)
    log = spider.fit_log_
    stderr.print(f"trained on {len(spider.tasks_)} tasks × {len(spider.models_)} models in {seconds:.1f}s "
                 f"(best epoch {log['best_epoch']} of {log['epochs_run']}; validation weighted τ "
                 f"{log['val_weighted_tau'] if log['val_weighted_tau'] is None else round(log['val_weighted_tau'], 4)}"
                 f" on {log['val_tasks']} held-out tasks)")
    stderr.print(f"checkpoint written to {out}", highlight=False)


# --- benchmark -----------------------------------------------------------------------------------
@benchmark_app.command("llm")
@user_errors
@reads_data
def benchmark_llm(
    protocol: Annotated[Optional[list[str]], typer.Option(
        "--protocol", "-p", help="loto-mmlu, loto-bbh, mmlu-to-bbh (default: all three) or loto-all.")] = None,
    method: Annotated[Optional[list[str]], typer.Option("--method", "-m", help=f"Methods to compare: {', '.join(RANKERS.names())} (default: all).")] = None,
    seed: Annotated[Optional[list[int]], typer.Option("--seed", "-s", help="Random seeds (repeatable; default: 0..4 for "
                                                     "methods with a random state, e.g. spider, and 0 for the others).")] = None,
    history: HistoryOpt = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the JSON records (its folder is created).", show_default=(
        "llm_leaderboard.json in benchmarks/results"))] = DEFAULT_BENCHMARK_OUTPUT,
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
    check_output(output, "records", create_folder=True)  # before the work, not after it
    plot = plot and check_output(plot, "plot")
    records, summary, skipped, encode_seconds = api.benchmark_llm(protocol, method, seed, history, n_prompts,
                                                                  prompt_seed, cache_dir, PROGRESS)
    for msg in skipped:
        stderr.print(f"skipped: {msg}")
    write_json_atomic(output, records)
    if plot:
        from llm_spider.plots import save_benchmark_plot

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

