"""`llm-spider zoo import-items` and `zoo recorded`: zoos of recorded per-item results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from llm_spider import api
from llm_spider.cli.common import (
    PROGRESS,
    FormatOpt,
    app,
    benchmark_app,
    reads_data,
    user_errors,
    zoo_app,
)
from llm_spider.output import Format, emit, stderr

RecordedZooOpt = Annotated[str, typer.Option("--zoo", help="A recorded zoo: mmlu-pro (from the data folder) or one "
                                                          "from `zoo import-items`.")]


@zoo_app.command("import-items")
@user_errors
def import_items(
    questions: Annotated[Path, typer.Option("--questions", help="JSONL (or .jsonl.gz): question_id, the task "
                                            "field(s), question, options (a list), answer (letter, index or text).")],
    results: Annotated[Path, typer.Option("--results", help="CSV: model, question_id, correct (1/0) "
                                          "[, pred][, logprobs as a JSON list].")],
    name: Annotated[str, typer.Option("--name", help="The recorded zoo's name (then `--zoo NAME`).")],
    task_field: Annotated[Optional[list[str]], typer.Option(
        "--task-field", help="The question field(s) that name its task, one level each (repeatable; default: task).")] = None,
    min_items: Annotated[int, typer.Option("--min-items", min=1, help="Fewest questions a task needs.")] = 50,
    fmt: FormatOpt = Format.table,
) -> None:
    """Import models' per-item results as a recorded zoo: a history (per-task accuracy) and the items
    that selection evaluates instead of running the models. A bad row names its file and line, and
    nothing is written.

    Example: llm-spider zoo import-items --questions q.jsonl --results r.csv --name my-zoo --task-field subject
    """
    zoo = api.import_items(questions, results, name, tuple(task_field or ["task"]), min_items)
    emit(api.recorded_summary(zoo), fmt, title=f"recorded zoo '{name}' → {api.recorded_dir(name)}")
    _partial_note(zoo)


@zoo_app.command("recorded")
@user_errors
@reads_data
def recorded(
    zoo: RecordedZooOpt = "mmlu-pro",
    level: Annotated[Optional[str], typer.Option("--level", help="Task level (mmlu-pro: category or src; "
                                                 "default: the zoo's first).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """A recorded zoo's members' accuracy per task (tasks × members) at one level."""
    z = api.load_recorded(zoo)
    wide = z.history(level).wide().T
    emit(wide.rename_axis("task").reset_index(), fmt,
         title=f"recorded zoo '{z.name}' ({z.source}): {wide.shape[1]} members × {wide.shape[0]} tasks, "
               f"level {level or z.levels[0]}")
    _partial_note(z, level)


def _partial_note(zoo, level: str | None = None) -> None:
    short = [(m, t, c) for m, t, c in zoo.partial(level) if c < zoo.min_coverage]
    if short:
        listed = ", ".join(f"{m} on {t} ({c:.0%})" for m, t, c in short[:6])
        stderr.print(f"note: {len(short)} (member, task) pair(s) have results on under {zoo.min_coverage:.0%} of "
                     f"the task's items and are left out of its history: {listed}", highlight=False, soft_wrap=True)


@app.command("select")
@user_errors
@reads_data
def select(
    task: Annotated[str, typer.Option("--task", "-t", help="A task of the recorded zoo (see `zoo recorded`).")],
    zoo: RecordedZooOpt = "mmlu-pro",
    level: Annotated[Optional[str], typer.Option("--level", help="Task level (mmlu-pro: category or src).")] = None,
    confidence: Annotated[float, typer.Option("--confidence", min=0.5, max=0.999,
                                              help="Stop when P(pick within epsilon of the best) reaches this.")] = 0.95,
    epsilon: Annotated[float, typer.Option("--epsilon", min=0.0, help="Accuracy a pick may trail the best by.")] = 0.02,
    budget: Annotated[Optional[int], typer.Option("--budget", min=1, help="The most item evaluations to spend.")] = None,
    budget_share: Annotated[Optional[float], typer.Option(
        "--budget-share", min=0.0, max=1.0, help="... or that share of brute force (every member on every item).")] = None,
    prior: Annotated[str, typer.Option("--prior", help="leaderboard (the members' mean over the zoo's other tasks) "
                                       "or flat.")] = "leaderboard",
    prior_strength: Annotated[Optional[float], typer.Option(
        "--prior-strength", min=0.0, help="What the prior is worth, in items (default: calibrated on the other tasks).")]
    = None,
    models: Annotated[Optional[str], typer.Option("--models", help="Comma-separated candidates (default: all).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the item order and of the sampling.")] = 0,
    fmt: FormatOpt = Format.table,
) -> None:
    """Pick the best model of a recorded zoo for a task to a stated confidence, evaluating as few items
    as it can: a prior from the zoo's other tasks, then items on the contenders (top-two Thompson
    sampling) until P(pick within epsilon of the best) >= confidence or the budget is spent.

    Example: llm-spider select --zoo mmlu-pro --level src --task ori_mmlu-high_school_physics
    """
    out = api.select(task, zoo, level, prior, prior_strength, epsilon, confidence, budget, budget_share,
                     api.split_names(models), seed, PROGRESS)
    r = out.result
    df = r.frame()
    if out.truth is not None:  # the recorded accuracy on the whole task, for reading the pick: never used by it
        df["recorded_accuracy"] = out.truth.reindex(df["model"]).to_numpy()
    emit(df, fmt, title=f"{task}: pick {r.pick} (P within {epsilon} of the best {r.p_good:.3f}; stopped by "
                        f"{r.stopped}) after {r.evaluations:,} item evaluations = {r.cost_share:.2%} of brute "
                        f"force ({r.brute_force:,}), {r.seconds:.2f}s")
    for note in r.notes:
        stderr.print(f"note: {note}", highlight=False)


@benchmark_app.command("select")
@user_errors
@reads_data
def benchmark_select(
    zoo: RecordedZooOpt = "mmlu-pro",
    level: Annotated[Optional[list[str]], typer.Option("--level", help="Task level(s) (default: the zoo's first).")]
    = None,
    members: Annotated[Optional[list[str]], typer.Option(
        "--members", help="Member set(s): all, open (mmlu-pro's open-weights models), sub12 (20 seeded zoos of 12).")]
    = None,
    method: Annotated[Optional[list[str]], typer.Option("--method", "-m", help="Methods (default: all).")] = None,
    seed: Annotated[Optional[list[int]], typer.Option("--seed", "-s", help="Seeds (repeatable; default 0).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the JSON records here "
                                                   "(and the plot beside it).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Selection methods on a recorded zoo, each task left out in turn: how often the pick is within
    0.02 of the best, and at what share of brute force's item evaluations."""
    from llm_spider.output import write_json_atomic
    from llm_spider.selection.benchmark import METHODS, run, summarize

    z = api.load_recorded(zoo)
    records = []
    for lv in level or [z.levels[0]]:
        records += run(z, lv, members or ["all"], method or METHODS, seed or [0], progress=PROGRESS)
    summary = summarize(records)
    emit(summary, fmt, title=f"select on recorded zoo '{z.name}': means over tasks × seeds (× zoos for sub12)")
    if output:
        from llm_spider.plots import save_select_plot

        write_json_atomic(output, records)
        save_select_plot(summary, output.with_suffix(".png"))
        stderr.print(f"wrote {output} and {output.with_suffix('.png')}")
