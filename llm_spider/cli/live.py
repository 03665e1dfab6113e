"""Commands that run real models: `zoo list --zoo`, `evaluate` and `compare`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from llm_spider.cli.app import CacheOpt, FormatOpt, app, progress_bar, user_errors, zoo_app
from llm_spider.cli.output import Format, emit, stderr
from llm_spider.errors import SpiderError

ZooOpt = Annotated[str, typer.Option("--zoo", help="A local zoo: `local` (the shipped one) or a zoo JSON file.")]
ModelsOpt = Annotated[Optional[str], typer.Option(
    "--models", help="Comma-separated zoo members (default: the zoo's default members that are installed).")]
LargeOpt = Annotated[bool, typer.Option("--large", help="Also use the opt-in large members (if installed).")]
BackendOpt = Annotated[str, typer.Option("--backend", help="transformers (CPU default) or vllm (needs the "
                                                            "\\[vllm] extra in its own environment).")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Prompts per forward pass.")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", min=1, help="CPU threads for torch "
                                                                             "(default: torch's choice).")]


def user_store_dir() -> Path:
    """Where `evaluate` keeps the user's own local-zoo results (XDG data home: not a cache)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "llm-spider" / "zoos" / "local"


def split_names(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def pick_models(zoo, names: str | None, large: bool, require_installed: bool = True):
    """The members to run; without --models, uninstalled defaults are skipped with a note."""
    chosen = zoo.select(split_names(names), include_large=large)
    missing = [m for m in chosen if not m.installed]
    if names and missing and require_installed:
        raise SpiderError(missing[0].missing_message())
    for m in missing:
        stderr.print(f"note: skipping {m.missing_message()}", highlight=False)
    ready = [m for m in chosen if m.installed]
    if not ready:
        raise SpiderError(f"no member of zoo '{zoo.name}' is installed; see `llm-spider zoo list --zoo {zoo.name}`")
    return ready


# --- zoo list --zoo ------------------------------------------------------------------------------
def local_zoo_table(zoo_name: str, fmt: Format) -> None:
    from llm_spider.zoo.local import load_zoo

    zoo = load_zoo(zoo_name)
    df = pd.DataFrame([{"model": m.name, "params_b": m.params_b, "member": "default" if m.default else "opt-in (--large)",
                        "installed": m.installed, "install": "" if m.installed else m.install,
                        "title": m.title} for m in zoo.models])
    emit(df, fmt, title=f"zoo '{zoo.name}': {zoo.description}")


# --- evaluate ------------------------------------------------------------------------------------
@app.command()
@user_errors
def evaluate(
    zoo: ZooOpt = "local",
    task: Annotated[Optional[str], typer.Option("--task", help="Comma-separated task names (a composite such as "
                                                               "mmlu_subset runs its subjects).")] = None,
    task_set: Annotated[bool, typer.Option("--task-set", help="The shipped evaluation set (mmlu_subset's 10 "
                                                              "subjects, 8 BBH tasks, openbookqa).")] = False,
    models: ModelsOpt = None,
    large: LargeOpt = False,
    backend: BackendOpt = "transformers",
    batch_size: BatchOpt = 8,
    threads: ThreadsOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", help="Results directory (default: "
                                                   "~/.local/share/llm-spider/zoos/local).")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Discard partial runs and start them over.")] = False,
    cache_dir: CacheOpt = None,
    fmt: FormatOpt = Format.table,
):
    """Measure each model's accuracy on whole tasks: the ground truth that `compare` scores against.

    Items are scored zero-shot by the log-probabilities of the option letters. Progress is saved
    after every batch: stop it any time (Ctrl-C) and rerun the same command to resume. Completed
    runs become rows of the local history (with backend, template, shots, package versions, date).
    """
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.evaluate import LIVE_TASK_SET, LocalStore, evaluate_run, expand_tasks, scoring_items
    from llm_spider.zoo.local import load_backend, load_zoo

    if not task and not task_set:
        raise SpiderError("say which tasks: --task NAME[,NAME...] or --task-set")
    names = (split_names(task) or []) + (list(LIVE_TASK_SET) if task_set else [])
    tasks = expand_tasks(REGISTRY.get(n) for n in names)
    for t in tasks:
        scoring_items(t)  # refuse a task that cannot be scored before loading any model
    z = load_zoo(zoo)
    members = pick_models(z, models, large)
    store = LocalStore(output or user_store_dir())
    done = store.history_frame()
    rows = []
    for m in members:
        pending = [t for t in tasks if restart or done[(done["model"] == m.name) & (done["task"] == t.name)].empty]
        if not pending:
            stderr.print(f"{m.name}: all {len(tasks)} task(s) already evaluated in {store.root}")
            continue
        b = load_backend(m, backend, cache_dir, batch_size, threads, progress=lambda msg: stderr.print(msg))
        with progress_bar() as bar:
            for t in pending:
                bar_id = bar.add_task(f"{m.name} · {t.name}", total=None)
                try:
                    row = evaluate_run(b, m, t, store, restart=restart,
                                       progress=lambda n: bar.advance(bar_id, n),
                                       on_start=lambda total, have: bar.update(bar_id, total=total, completed=have))
                except KeyboardInterrupt:
                    bar.stop()
                    stderr.print(f"[yellow]interrupted[/]: every finished batch is saved in {store.root}; "
                                 "rerun the same command to resume")
                    raise typer.Exit(130) from None
                rows.append(row)
                bar.remove_task(bar_id)
                stderr.print(f"{m.name} · {t.name}: accuracy {row['score']:.4f} on {row['n_items']} items "
                             f"({row['seconds']:.0f} s)")
        b.close()
    if rows:
        emit(pd.DataFrame(rows)[["model", "task", "score", "n_items", "backend", "seconds"]], fmt,
             title=f"evaluated → {store.root}")
