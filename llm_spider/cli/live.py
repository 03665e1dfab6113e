"""Commands that run real models: `zoo list --zoo`, `evaluate` and `compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from llm_spider.cli.app import CacheOpt, FormatOpt, app, progress_bar, reads_data, user_errors, zoo_app
from llm_spider.cli.output import Format, emit, stderr
from llm_spider.errors import SpiderError
from llm_spider.paths import user_local_zoo_dir

ZooOpt = Annotated[str, typer.Option("--zoo", help="A local zoo: `local` (3 base LLMs), `multisource` (the bases "
                                                   "+ 9 LoRA domain specialists), or a zoo JSON file / a directory "
                                                   "with a zoo.json (e.g. from `zoo build-specialists`).")]
ModelsOpt = Annotated[Optional[str], typer.Option(
    "--models", help="Comma-separated zoo members (default: the zoo's default members that are installed).")]
LargeOpt = Annotated[bool, typer.Option("--large", help="Also use the opt-in large members (if installed).")]
BackendOpt = Annotated[str, typer.Option("--backend", help="transformers (CPU default) or vllm (needs the "
                                                            "\\[vllm] extra in its own environment).")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Prompts per forward pass.")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", min=1, help="CPU threads for torch "
                                                                             "(default: torch's choice).")]


ResultsOpt = Annotated[Optional[Path], typer.Option(
    "--results", help="Your `evaluate` results directory, used on top of the zoo's shipped ones (default: "
                      "~/.local/share/llm-spider/zoos/<zoo>).")]


def split_names(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def pick_models(zoo, names: str | None, large: bool):
    """The members to run; without --models, uninstalled defaults are skipped with a note."""
    chosen = zoo.select(split_names(names), include_large=large)
    missing = [m for m in chosen if not m.installed]
    if names and missing:
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
                        "installed": m.installed, "install": "" if m.installed else m.missing_message(),
                        "title": m.title, "base": m.base, "source": m.source} for m in zoo.models])
    if not df["base"].astype(bool).any():  # a zoo without specialists: no empty columns
        df = df.drop(columns=["base", "source"])
    emit(df, fmt, title=f"zoo '{zoo.name}': {zoo.description}")


# --- evaluate ------------------------------------------------------------------------------------
@app.command()
@user_errors
@reads_data
def evaluate(
    zoo: ZooOpt = "local",
    task: Annotated[Optional[str], typer.Option("--task", help="Comma-separated task names (a composite such as "
                                                               "mmlu_subset runs its subjects).")] = None,
    task_set: Annotated[bool, typer.Option("--task-set", help="The shipped evaluation set (mmlu_subset's 10 "
                                                              "subjects, 3 more MMLU subjects, 4 BBH tasks, arc_challenge, openbookqa).")] = False,
    models: ModelsOpt = None,
    large: LargeOpt = False,
    backend: BackendOpt = "transformers",
    batch_size: BatchOpt = 8,
    threads: ThreadsOpt = None,
    max_items: Annotated[Optional[int], typer.Option("--max-items", min=1, help="Score a seeded sample of at most "
                                                     "this many items per task (it contains the task's probes) "
                                                     "instead of all: for big zoos on small machines.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", help="Results directory (default: "
                                                   "~/.local/share/llm-spider/zoos/<zoo>).")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Discard partial runs and start them over.")] = False,
    reuse_shipped: Annotated[bool, typer.Option("--reuse/--no-reuse", help="Copy items the shipped local zoo "
                                                "(base members) or the shipped zoo itself already scored with the "
                                                "same weights and settings instead of running them.")] = True,
    cache_dir: CacheOpt = None,
    fmt: FormatOpt = Format.table,
):
    """Measure each model's accuracy on whole tasks: the ground truth that `compare` scores against.

    Items are scored zero-shot by the log-probabilities of the option letters. Progress is saved
    after every batch: stop it any time (Ctrl-C) and rerun the same command to resume. Completed
    runs become rows of the local history (with backend, template, shots, package versions, date).
    Base members (also in another zoo, e.g. `--zoo multisource`) reuse the items the shipped local
    zoo's runs already scored with the same weights and settings instead of running them again, and
    a shipped zoo's members reuse that zoo's shipped items (a whole-task run after a --max-items
    one runs only the rest); `--no-reuse` runs them all.
    """
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.evaluate import (LIVE_TASK_SET, SHIPPED_LOCAL_DIR, LocalStore, evaluate_run, expand_tasks,
                                         sample_cap, scoring_items)
    from llm_spider.zoo.local import ZOO_DIR, load_backend, load_zoo

    if not task and not task_set:
        raise SpiderError("say which tasks: --task NAME[,NAME...] or --task-set")
    names = (split_names(task) or []) + (list(LIVE_TASK_SET) if task_set else [])
    tasks = expand_tasks(REGISTRY.get(n) for n in names)
    for t in tasks:
        scoring_items(t)  # refuse a task that cannot be scored before loading any model
    z = load_zoo(zoo)
    members = pick_models(z, models, large)
    store = LocalStore(output or user_local_zoo_dir(z.name))
    shipped = {m.name: m.sha256 for m in load_zoo("local").models}
    # a finished row counts only if it scored the same items (the whole task, or the same sample)
    caps = {t.name: sample_cap(t, max_items) or 0 for t in tasks}
    done = store.history_frame()
    if "max_items" not in done:
        done["max_items"] = None
    rows = []
    # A shipped zoo's own results (e.g. a 100-item sample) are reused by a bigger run of the same
    # members; a user's zoo directory is not, since its adapters may have been rebuilt since.
    own = z.results_dir if z.results_dir and ZOO_DIR.resolve() in Path(z.results_dir).resolve().parents else None
    for m in members:
        same_weights = not m.adapter and shipped.get(m.name) == m.sha256
        reuse = [LocalStore(SHIPPED_LOCAL_DIR)] if reuse_shipped and same_weights else []
        if reuse_shipped and own is not None and Path(own).resolve() != SHIPPED_LOCAL_DIR.resolve():
            reuse.append(LocalStore(own))
        pending = [t for t in tasks if restart or done[(done["model"] == m.name) & (done["task"] == t.name)
                                                       & (done["max_items"].fillna(0) == caps[t.name])].empty]
        if not pending:
            stderr.print(f"{m.name}: all {len(tasks)} task(s) already evaluated in {store.root}")
            continue
        b = load_backend(m, backend, cache_dir, batch_size, threads, progress=lambda msg: stderr.print(msg))
        with progress_bar() as bar:
            for t in pending:
                bar_id = bar.add_task(f"{m.name} · {t.name}", total=None)
                try:
                    row = evaluate_run(b, m, t, store, restart=restart, max_items=max_items, reuse=reuse,
                                       progress=lambda n: bar.advance(bar_id, n),
                                       on_start=lambda total, have: bar.update(bar_id, total=total, completed=have))
                except KeyboardInterrupt:
                    bar.stop()
                    stderr.print(f"[yellow]interrupted[/]: every finished batch is saved in {store.root}; "
                                 "rerun the same command to resume")
                    raise typer.Exit(130) from None
                rows.append(row)
                bar.remove_task(bar_id)
                reused = f", {row['reused_items']} reused" if row["reused_items"] else ""
                stderr.print(f"{m.name} · {t.name}: accuracy {row['score']:.4f} on {row['n_items']} items "
                             f"({row['seconds']:.0f} s{reused})")
        b.close()
    if rows:
        emit(pd.DataFrame(rows)[["model", "task", "score", "n_items", "backend", "seconds"]], fmt,
             title=f"evaluated → {store.root}")


# --- compare -------------------------------------------------------------------------------------
@app.command()
@user_errors
@reads_data
def compare(
    task: Annotated[str, typer.Option("--task", help="Comma-separated target tasks with measured truth "
                                                     "(see `evaluate`).")] = "mmlu_subset",
    zoo: ZooOpt = "local",
    models: ModelsOpt = None,
    large: LargeOpt = False,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Candidates the Spider re-ranks by running them on "
                                                              "the probes: the compute/accuracy knob.")] = 2,
    probes: Annotated[int, typer.Option("--probes", min=1, help="Probe items per candidate.")] = 16,
    backend: BackendOpt = "transformers",
    batch_size: BatchOpt = 8,
    threads: ThreadsOpt = None,
    results: ResultsOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", help="Also write the records as a JSON list here.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write a PNG of accuracy against compute.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="The Spider's random state.")] = 0,
    cache_dir: CacheOpt = None,
    fmt: FormatOpt = Format.table,
):
    """Every selection method on a live zoo, side by side: the selected model's true accuracy,
    weighted τ, top-1 regret, forward passes through zoo models and wall seconds.

    The Spider ranks from the local history (the target's own tasks held out) and re-ranks its
    top-k by running them on a few probe items, two ways: spider+rerank feeds the probe runs to the
    Spider as PTM-specific tokens (the paper's), spider+evidence weighs each candidate's probe
    accuracy against the history's estimate with weights fitted on the history's stored probe runs.
    Self-assessed confidence runs every model (on the probes, or asked to rate itself); brute force
    runs every model on the whole task. With several tasks, a second table gives each re-ranked
    Spider minus each baseline per task, with a 95 % paired bootstrap interval.
    """
    from llm_spider.benchmark.live import compare as run_compare
    from llm_spider.benchmark.live import local_results, paired_differences, summarize_live
    from llm_spider.cli.app import encode_tasks, task_encoder
    from llm_spider.cli.output import write_json_atomic
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.local import load_backend, load_zoo
    from llm_spider.zoo.reliability import reliability_note

    targets = [REGISTRY.get(n) for n in split_names(task) or []]
    if not targets:
        raise SpiderError("say which task: --task NAME")
    z = load_zoo(zoo)
    history, items = local_results(results or user_local_zoo_dir(z.name), z.results_dir)
    members = pick_models(z, models, large)
    encoder = task_encoder(32, 0, cache_dir)
    log = lambda msg: stderr.print(msg, highlight=False)  # noqa: E731
    records = run_compare(targets, members, history, items, encoder,
                          lambda m: load_backend(m, backend, cache_dir, batch_size, threads, progress=log),
                          top_k=top_k, n_probes=probes, seed=seed, log=log,
                          encode=lambda ts: encode_tasks(ts, encoder))
    df = pd.DataFrame(records)
    if output:
        write_json_atomic(output, records)
    summary = summarize_live(records)
    if plot:
        save_live_plot(summary, plot)
        stderr.print(f"plot written to {plot}")
    if fmt is Format.table:
        cols = ["method", "top1_model", "top1_accuracy", "weighted_tau", "top1_regret", "forward_passes",
                "passes_vs_brute_force", "seconds", "encoder_seconds"]
        short = {"top1_model": "selected", "top1_accuracy": "its acc", "weighted_tau": "τw", "top1_regret": "regret",
                 "forward_passes": "passes", "passes_vs_brute_force": "/brute", "seconds": "s",
                 "encoder_seconds": "enc s"}
        if len(targets) == 1:
            emit(df[cols].rename(columns=short), fmt, title=f"{targets[0].name}: {len(members)} models, best "
                                      f"{df['best_model'].iloc[0]} ({df['best_accuracy'].iloc[0]:.4f})")
        else:
            emit(summary.rename(columns=short), fmt, title=f"mean over {len(targets)} tasks")
            paired = pd.concat([paired_differences(records, m) for m in ("spider+rerank", "spider+evidence")])
            emit(paired, fmt, title="re-ranked Spider minus each baseline, per task: mean, 95 % paired bootstrap "
                                    "interval, wins/ties/losses")
        parts = sorted({c for t in targets for c in t.components})
        note = reliability_note(items, parts, [m.name for m in members])
        if note:
            stderr.print(note, highlight=False, soft_wrap=True)
    else:
        emit(df, fmt)


def save_live_plot(summary: pd.DataFrame, path: Path) -> None:
    """Accuracy of the selected model and weighted τ against forward passes (log scale): the
    paper's efficiency-accuracy picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    markers = "o^sDvP*Xh"
    for ax, col, label in ((axes[0], "top1_accuracy", "true accuracy of the selected model"),
                           (axes[1], "weighted_tau", "weighted Kendall's τ")):
        zero = 0
        for i, row in summary.reset_index(drop=True).iterrows():
            x = row["forward_passes"]
            if x <= 0:  # methods that run no model: spread at the left edge so none hides another
                x, zero = 0.5 * 1.25 ** zero, zero + 1
            ax.scatter(x, row[col], s=70, color=f"C{i}", marker=markers[i % len(markers)], label=row["method"],
                       zorder=3, edgecolor="black", linewidth=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("forward passes through zoo models, log\n(methods that run none: at the left edge)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="center right")
    axes[0].set_title(f"mean over {int(summary['tasks'].max())} task(s)", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- zoo truth -----------------------------------------------------------------------------------
@zoo_app.command("truth")
@user_errors
@reads_data
def zoo_truth(
    zoo: ZooOpt = "local",
    results: ResultsOpt = None,
    diversity_view: Annotated[bool, typer.Option("--diversity", help="Per task: the best member against the "
                                                 "member with the best mean accuracy, and the gap.")] = False,
    reliability_view: Annotated[bool, typer.Option(
        "--reliability", help="Per task: how reproducible the members' order is (weighted τ between two "
        "random halves of the items, and against bootstrap resamples), and how many items it would take "
        "to tell the two best members apart. Tells whether differences between rankers on this zoo can "
        "mean anything.")] = False,
    splits: Annotated[int, typer.Option(min=1, help="Random splits / resamples per task for --reliability.")] = 200,
    fmt: FormatOpt = Format.table,
):
    """A live zoo's ground truth (accuracy of every member on every evaluated task) and how diverse it
    is: on how many tasks the member with the best mean accuracy is not the task's best, and by how much.
    With --reliability: how much of each task's order of members is signal rather than item noise.
    """
    from llm_spider.benchmark.live import local_results
    from llm_spider.zoo.diversity import diversity, truth_table
    from llm_spider.zoo.local import load_zoo

    if diversity_view and reliability_view:
        raise SpiderError("choose one of --diversity and --reliability")
    z = load_zoo(zoo)
    history, items = local_results(results or user_local_zoo_dir(z.name), z.results_dir)
    members = [m.name for m in z.models if m.name in set(history.scores["model"])]
    if reliability_view:
        _emit_reliability(z.name, items, members, splits, fmt)
        return
    table = truth_table(history.scores, members)
    per_task, summary = diversity(table)
    title = (f"zoo '{z.name}': {summary.members} members × {summary.tasks} tasks; the best-mean member "
             f"({summary.overall_best}, {summary.overall_best_mean:.4f}) is not the best on "
             f"{summary.tasks_not_won_by_overall_best}/{summary.tasks} tasks (mean gap there "
             f"{summary.mean_gap_where_not_won:.4f}, max {summary.max_gap:.4f}); {summary.distinct_winners} "
             "different winners")
    if fmt is not Format.table:  # the summary goes beside machine-readable output, not into it
        stderr.print(title, highlight=False, soft_wrap=True)
    if diversity_view:
        emit(per_task, fmt, title=title)
    else:
        out = table.round(4) if fmt is Format.table else table
        mean = pd.DataFrame([table.mean(axis=0)], index=["(mean)"])
        emit(pd.concat([out, mean.round(4) if fmt is Format.table else mean]).rename_axis("task").reset_index(),
             fmt, title=title)


def _emit_reliability(zoo: str, items: pd.DataFrame, members: list[str], splits: int, fmt: Format) -> None:
    from llm_spider.zoo.reliability import truth_reliability

    per_task, r = truth_reliability(items, members, splits=splits)
    title = (f"zoo '{zoo}': {r.members} members × {r.tasks} tasks; two random halves of a task's items "
             f"order the members alike at weighted τ {r.mean_split_half_tau:.3f} on average (< 0.5 on "
             f"{r.tasks_split_half_below_half} tasks); on {r.tasks_winner_unsettled}/{r.tasks} tasks the task "
             f"is too small to tell its two best members apart (median items needed "
             f"{r.median_items_needed:,.0f}; mean gap {r.mean_top2_gap:.4f})")
    if fmt is not Format.table:
        stderr.print(title, highlight=False, soft_wrap=True)
    emit(per_task.round(4) if fmt is Format.table else per_task, fmt, title=title)
