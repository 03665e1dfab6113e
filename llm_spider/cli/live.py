"""Commands that run real models: `zoo list --zoo`, `evaluate` and `compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from llm_spider import api
from llm_spider.backends import BACKENDS
from llm_spider.cli.common import (
    PROGRESS,
    CacheOpt,
    FormatOpt,
    app,
    reads_data,
    user_errors,
    zoo_app,
)
from llm_spider.cli.taskopts import (
    AnswerFieldOpt,
    ChoicesFieldOpt,
    ExtractOpt,
    IncludeOpt,
    MaxNewTokensOpt,
    MetricOpt,
    QuestionFieldOpt,
    ScoringOpt,
    StopOpt,
    TaskFilesOpt,
    ToleranceOpt,
    scoring_from,
    sources_from,
)
from llm_spider.errors import SpiderError
from llm_spider.output import Format, emit, stderr
from llm_spider.writing import check_output, write_json_atomic

ZooOpt = Annotated[str, typer.Option("--zoo", help="A zoo whose members run: `local` (3 base LLMs), `multisource` "
                                                   "(the bases + 9 LoRA domain specialists), one of yours by name "
                                                   "(`zoo create`), or a zoo file (YAML, docs/zoos.md) or a folder "
                                                   "holding one: your own folders, Hugging Face ids, GGUF files, "
                                                   "adapters and OpenAI-compatible endpoints.")]
ModelsOpt = Annotated[Optional[str], typer.Option(
    "--models", help="Comma-separated zoo members (default: the zoo's default members that are installed).")]
LargeOpt = Annotated[bool, typer.Option("--large", help="Also use the opt-in large members (if installed).")]
BackendOpt = Annotated[Optional[str], typer.Option(
    "--backend", help=f"Inference backend for every member: {', '.join(BACKENDS.names())} (default: each member's "
    "own, else transformers; an endpoint member always runs on openai; vllm needs the [vllm] extra in its own "
    "environment).")]
BatchOpt = Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Prompts per forward pass, and items "
                                                 "saved per batch (default: each member's, else 8).")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", min=1, help="CPU threads for torch "
                                                                             "(default: torch's choice).")]
MEMBERS_PANEL = "Where and how members run"  # a panel of its own: the long option names get their room
DtypeOpt = Annotated[Optional[str], typer.Option(
    "--dtype", rich_help_panel=MEMBERS_PANEL, help="The weights' precision: auto (default: each member's, else bfloat16 on a GPU and float32 on "
    "the CPU), float32, bfloat16 or float16 (half the memory). Runs of another dtype are logged apart: they are "
    "another measurement.")]
DeviceOpt = Annotated[Optional[str], typer.Option(
    "--device", rich_help_panel=MEMBERS_PANEL, help="Where local members run: auto (default: each member's, else the first CUDA GPU, else MPS, "
    "else the CPU), cpu, cuda, cuda:N or mps. A member too large for one GPU spreads over all of them.")]
TrustOpt = Annotated[bool, typer.Option("--trust-remote-code", rich_help_panel=MEMBERS_PANEL,
                                        help="Let members whose folder ships model code run it (transformers' "
                                        "remote code); refused without this flag.")]
ConcurrencyOpt = Annotated[Optional[int], typer.Option(
    "--concurrency", min=1, rich_help_panel=MEMBERS_PANEL, help="Requests in flight to each endpoint member (default: the member's, else 4).")]


ExecutorOpt = Annotated[str, typer.Option("--executor", help="Where items are scored: local (this process) or ray "
                                                            "(actors on a Ray cluster; the [ray] extra).")]
RayAddressOpt = Annotated[Optional[str], typer.Option("--ray-address", help="The Ray cluster to join (`ray start "
                                                      "--head` prints it; auto: the one on this machine; default: "
                                                      "start one in this process).")]
RayActorsOpt = Annotated[int, typer.Option("--ray-actors", min=1, help="Ray actors per model, each loading it "
                                                                       "once (one per GPU or CPU slot).")]
RayGpusOpt = Annotated[float, typer.Option("--ray-gpus", min=0.0, help="GPUs each Ray actor reserves: Ray places it "
                                           "on a node that has them and gives it those (1: a vLLM actor per GPU; "
                                           "default 0: the CPU).")]


ResultsOpt = Annotated[Optional[Path], typer.Option(
    "--results", help="Your `evaluate` results directory, used on top of the zoo's shipped ones (default: "
                      "llm-spider/zoos/<zoo> in your data folder, ~/.local/share).")]


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
    backend: BackendOpt = None,
    batch_size: BatchOpt = None,
    threads: ThreadsOpt = None,
    max_items: Annotated[Optional[int], typer.Option("--max-items", min=1, help="Score a seeded sample of at most "
                                                     "this many items per task (it contains the task's probes) "
                                                     "instead of all: for big zoos on small machines.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", help="Results directory (default: "
                                                   "llm-spider/zoos/<zoo> in your data folder, ~/.local/share).")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Discard partial runs and start them over.")] = False,
    reuse_shipped: Annotated[bool, typer.Option("--reuse/--no-reuse", help="Copy items the shipped local zoo "
                                                "(base members) or the shipped zoo itself already scored with the "
                                                "same weights and settings instead of running them.")] = True,
    cache_dir: CacheOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    ray_actors: RayActorsOpt = 1,
    ray_gpus: RayGpusOpt = 0.0,
    dtype: DtypeOpt = None,
    device: DeviceOpt = None,
    trust_remote_code: TrustOpt = False,
    concurrency: ConcurrencyOpt = None,
    task_file: TaskFilesOpt = None,
    scoring: ScoringOpt = None,
    lm_eval_include: IncludeOpt = None,
    question_field: QuestionFieldOpt = "question",
    choices_field: ChoicesFieldOpt = "choices",
    answer_field: AnswerFieldOpt = "answer",
    max_new_tokens: MaxNewTokensOpt = None,
    stop: StopOpt = None,
    extract: ExtractOpt = None,
    metric: MetricOpt = None,
    tolerance: ToleranceOpt = None,
    fmt: FormatOpt = Format.table,
):
    """Measure each model's accuracy on whole tasks: the ground truth that `compare` scores against.

    Items are scored zero-shot by the log-probabilities of the option letters, or as --scoring
    says (option texts as lm-eval scores them, or generated answers; docs/scoring.md); your own
    tasks come with --task-file, lm-eval:NAME or hf:PATH:SPLIT. Progress is saved
    after every batch (--batch-size items), with the seconds it took: stop it any time (Ctrl-C, or
    even a kill) and rerun the same command to resume. Completed runs become rows of the local
    history (with backend, template, shots, package versions, date and seconds).
    Base members (also in another zoo, e.g. `--zoo multisource`) reuse the items the shipped local
    zoo's runs already scored with the same weights and settings instead of running them again, and
    a shipped zoo's members reuse that zoo's shipped items (a whole-task run after a --max-items
    one runs only the rest); `--no-reuse` runs them all.
    """
    rows, root = api.evaluate(zoo, api.split_names(task), task_set, models, large, backend, batch_size, threads,
                              max_items, output, restart, reuse_shipped, cache_dir, PROGRESS, executor, ray_address,
                              ray_actors, ray_gpus, dtype, device, trust_remote_code, concurrency, task_file,
                              scoring_from(scoring, max_new_tokens, stop, extract, metric, tolerance),
                              sources_from(lm_eval_include, question_field, choices_field, answer_field))
    if rows:
        df = pd.DataFrame(rows)
        df["accuracy"] = df["score"]
        df["items"] = df["n_items"]
        cols = ["model", "task", "score", "n_items", "scoring", "backend", "seconds",
                *(c for c in ("prompt_tokens", "completion_tokens", "weights") if c in df)]
        if fmt is not Format.table:  # the record other tools read: accuracy and items by these names too
            cols[2:4] = ["score", "accuracy", "n_items", "items"]
        title = f"evaluated → {root}"
        if "prompt_tokens" in df:
            title += (f"; served tokens: {int(df['prompt_tokens'].fillna(0).sum()):,} prompt + "
                      f"{int(df['completion_tokens'].fillna(0).sum()):,} completion")
        emit(df[cols], fmt, title=title)


# --- compare -------------------------------------------------------------------------------------
@app.command()
@user_errors
@reads_data
def compare(
    task: Annotated[Optional[str], typer.Option("--task", help="Comma-separated target tasks with measured truth "
                                                               "(see `evaluate`; default mmlu_subset unless "
                                                               "--task-file is given).")] = None,
    zoo: ZooOpt = "local",
    models: ModelsOpt = None,
    large: LargeOpt = False,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Candidates the Spider re-ranks by running them on "
                                                              "the probes: the compute/accuracy knob.")] = 2,
    probes: Annotated[int, typer.Option("--probes", min=1, help="Probe items per candidate.")] = 16,
    backend: BackendOpt = None,
    batch_size: BatchOpt = None,
    threads: ThreadsOpt = None,
    results: ResultsOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", help="Also write the records as a JSON list here.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write a PNG of accuracy against compute.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="The Spider's random state.")] = 0,
    cache_dir: CacheOpt = None,
    dtype: DtypeOpt = None,
    device: DeviceOpt = None,
    trust_remote_code: TrustOpt = False,
    concurrency: ConcurrencyOpt = None,
    task_file: TaskFilesOpt = None,
    scoring: ScoringOpt = None,
    lm_eval_include: IncludeOpt = None,
    question_field: QuestionFieldOpt = "question",
    choices_field: ChoicesFieldOpt = "choices",
    answer_field: AnswerFieldOpt = "answer",
    max_new_tokens: MaxNewTokensOpt = None,
    stop: StopOpt = None,
    extract: ExtractOpt = None,
    metric: MetricOpt = None,
    tolerance: ToleranceOpt = None,
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
    from llm_spider.benchmark.live import paired_differences, summarize_live
    from llm_spider.zoo.reliability import reliability_note

    output = output and check_output(output, "records")  # before the work, not after it
    plot = plot and check_output(plot, "plot")
    names = api.split_names(task) or ([] if task_file else ["mmlu_subset"])
    records, targets, items, members = api.compare(names, zoo, models, large, top_k, probes,
                                                   backend, batch_size, threads, results, seed, cache_dir, PROGRESS,
                                                   dtype, device, trust_remote_code, concurrency, task_file,
                                                   scoring_from(scoring, max_new_tokens, stop, extract, metric,
                                                                tolerance),
                                                   sources_from(lm_eval_include, question_field, choices_field,
                                                                answer_field))
    df = pd.DataFrame(records)
    if output:
        write_json_atomic(output, records)
    summary = summarize_live(records)
    if plot:
        from llm_spider.plots import save_live_plot

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
        parts = sorted({c for t in targets for c in t.parts})
        note = reliability_note(items, parts, members)
        if note:
            stderr.print(note, highlight=False, soft_wrap=True)
    else:
        emit(df, fmt)


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
    from llm_spider.zoo.diversity import diversity, truth_table

    if diversity_view and reliability_view:
        raise SpiderError("choose one of --diversity and --reliability")
    z, history, items, members = api.zoo_results(zoo, results)
    if reliability_view:
        from llm_spider.zoo.reliability import truth_reliability

        per_task, r = truth_reliability(items, members, splits=splits)
        emit_reliability(f"zoo '{z.name}'", per_task, r, fmt)
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


def emit_reliability(what: str, per_task: pd.DataFrame, r, fmt: Format, items: str = "items") -> None:
    """A reliability check's table under one title that says what it means (``r``: its summary)."""
    from llm_spider.zoo.reliability import halves_agree

    title = (f"{what}: {r.members} members × {r.tasks} tasks; on average two random halves of a task's "
             f"{items} {halves_agree(r.mean_split_half_tau)} (τ < 0.5 on {r.tasks_split_half_below_half} tasks); "
             f"on {r.tasks_winner_unsettled}/{r.tasks} tasks the task is too small to tell its two best members "
             f"apart (median {items} needed {r.median_items_needed:,.0f}; mean gap {r.mean_top2_gap:.4f})")
    if fmt is not Format.table:
        stderr.print(title, highlight=False, soft_wrap=True)
    emit(per_task.round(4) if fmt is Format.table else per_task, fmt, title=title)
