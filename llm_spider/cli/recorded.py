"""`llm-spider zoo import-items` and `zoo recorded`: zoos of recorded per-item results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from llm_spider import api
from llm_spider.cli.common import FormatOpt, reads_data, user_errors, zoo_app
from llm_spider.output import Format, emit, stderr

RecordedZooOpt = Annotated[str, typer.Option("--zoo", help="A recorded zoo: mmlu-pro (from the data folder) or one "
                                                          "from `zoo import-items`.")]


@zoo_app.command("import-items")
@user_errors
def import_items(
    questions: Annotated[Path, typer.Option("--questions", help="JSONL (or .jsonl.gz): question_id, the task "
                                            "field(s), question, and where it has them options (a list) and answer "
                                            "(letter, index or text). An item without options is free-form.")],
    results: Annotated[Path, typer.Option("--results", help="CSV: model, question_id, correct (1/0) "
                                          "[, pred][, logprobs as a JSON list].")],
    name: Annotated[str, typer.Option("--name", help="The recorded zoo's name (then `--zoo NAME`).")],
    task_field: Annotated[Optional[list[str]], typer.Option(
        "--task-field", help="The question field(s) that name its task, one level each (repeatable; default: task).")] = None,
    min_items: Annotated[int, typer.Option("--min-items", min=1, help="Fewest questions a task needs.")] = 50,
    fmt: FormatOpt = Format.table,
) -> None:
    """Import models' per-item results as a recorded zoo: a history (per-task accuracy) and the items
    that selection evaluates instead of running the models. The results' correct column is the truth:
    free-form items (no options: a number, a short answer) and answers that are not one option
    (several correct, a number) are kept and counted in the summary. A bad row names its file and
    line, and nothing is written.

    Example: llm-spider zoo import-items --questions q.jsonl --results r.csv --name my-zoo --task-field subject
    """
    zoo = api.import_items(questions, results, name, tuple(task_field or ["task"]), min_items)
    emit(api.recorded_summary(zoo), fmt, title=f"recorded zoo '{name}' → {api.recorded_dir(name)}")
    _partial_note(zoo)


@zoo_app.command("import")
@user_errors
def import_runs(
    paths: Annotated[list[Path], typer.Argument(help="lm-evaluation-harness output folders or results_*.json files "
                                               "(their samples_*.jsonl beside them), OpenCompass summary CSVs or "
                                               "predictions folders.")],
    name: Annotated[str, typer.Option("--name", help="The import's name: then `rank --history NAME` and, where "
                                                     "items were logged, `select --zoo NAME`.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Import scores and per-item logs from lm-evaluation-harness or OpenCompass: a history of per-task
    scores (with each one's provenance) and, from per-item logs, a recorded zoo whose items selection
    evaluates instead of running the models. The format is detected; a bad file is one line naming
    it, and nothing is written.

    Example: llm-spider zoo import ./lm_eval_out --name my-runs
    """
    history, zoo, root, data = api.import_runs(paths, name)
    for line in data.taken:
        stderr.print(f"took: {line}")
    for line in data.skipped:
        stderr.print(f"skipped: {line}")
    shown = history[["model", "task", "score", "metric", "n", "tool"]]
    emit(shown, fmt, title=f"import '{name}' → {root}: {history['model'].nunique()} models × "
                           f"{history['task'].nunique()} tasks" + (", with a recorded zoo of their items" if zoo else ""))


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
