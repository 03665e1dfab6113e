"""`llm-spider select` and `benchmark select`: the best model of a zoo to a stated confidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from llm_spider import api
from llm_spider.cli.common import PROGRESS, CacheOpt, FormatOpt, app, benchmark_app, reads_data, user_errors
from llm_spider.cli.live import (
    BackendOpt,
    BatchOpt,
    ConcurrencyOpt,
    DeviceOpt,
    ExecutorOpt,
    LargeOpt,
    RayActorsOpt,
    RayAddressOpt,
    DtypeOpt,
    RayGpusOpt,
    ResultsOpt,
    ThreadsOpt,
    TrustOpt,
)
from llm_spider.cli.recorded import RecordedZooOpt
from llm_spider.cli.taskopts import (
    PANEL,
    AnswerFieldOpt,
    ChoicesFieldOpt,
    ExtractOpt,
    IncludeOpt,
    MaxNewTokensOpt,
    MetricOpt,
    QuestionFieldOpt,
    ScoringOpt,
    StopOpt,
    ToleranceOpt,
    scoring_from,
    sources_from,
)
from llm_spider.errors import SpiderError
from llm_spider.output import Format, emit, stderr

SelectZooOpt = Annotated[str, typer.Option("--zoo", help="A recorded zoo (mmlu-pro, or one from `zoo import` or "
                                                        "`zoo import-items`), or a zoo whose members run live: local, "
                                                        "multisource, one of yours (`zoo create`) or a zoo file "
                                                        "(docs/zoos.md).")]


TaskOpt = Annotated[Optional[str], typer.Option("--task", "-t", help="A task of the recorded zoo (see `zoo recorded`), "
                                                "or for a zoo whose members run any task (see `tasks list`), "
                                                "lm-eval:NAME or hf:PATH[:CONFIG]:SPLIT.")]
LevelOpt = Annotated[Optional[str], typer.Option("--level", help="Task level (mmlu-pro: category or src).")]
ConfidenceOpt = Annotated[float, typer.Option("--confidence", min=0.5, max=0.999,
                                              help="Stop when P(pick within epsilon of the best) reaches this.")]
EpsilonOpt = Annotated[float, typer.Option("--epsilon", min=0.0, max=0.5, help="Accuracy a pick may trail the "
                                           "best by (0 to 0.5: accuracies lie in [0, 1]).")]
BudgetOpt = Annotated[Optional[int], typer.Option("--budget", min=1, help="The most item evaluations to spend.")]
PriorOpt = Annotated[str, typer.Option("--prior", help="auto (of those below, the one worth the most items on the "
                                       "zoo's other tasks), leaderboard (each member's mean over them), similar-tasks, "
                                       "spider (both read the questions), items (a recorded zoo's per-item outcomes, "
                                       "learnt against each question's text) or flat.")]
CandidatesOpt = Annotated[Optional[str], typer.Option("--models", help="Comma-separated candidates (default: all).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the item order and of the sampling.")]


def _timing(seconds: dict, cached: bool) -> str:
    """The command's wall time so far (from the package's import) with its parts."""
    import time

    from llm_spider import STARTED

    whole = time.perf_counter() - STARTED
    return (f"{whole:.2f}s in all (loading {whole - seconds['prior'] - seconds['evaluation']:.2f}s, prior "
            f"{seconds['prior']:.2f}s{' from the cache' if cached else ''}, evaluation {seconds['evaluation']:.2f}s)")


@app.command("select")
@user_errors
@reads_data
def select(
    task: TaskOpt = None,
    zoo: SelectZooOpt = "mmlu-pro",
    level: LevelOpt = None,
    confidence: ConfidenceOpt = 0.95,
    epsilon: EpsilonOpt = 0.02,
    budget: BudgetOpt = None,
    budget_share: Annotated[Optional[float], typer.Option(
        "--budget-share", min=0.0, max=1.0, help="... or that share of brute force (every member on every item).")] = None,
    prior: PriorOpt = "auto",
    prior_strength: Annotated[Optional[float], typer.Option(
        "--prior-strength", min=0.0, help="What the prior is worth, in items (default: calibrated on the other tasks).")]
    = None,
    models: CandidatesOpt = None,
    seed: SeedOpt = 0,
    label_free: Annotated[bool, typer.Option("--label-free", help="No answer key: judge members by agreement with "
                                             "a panel of the prior's five strongest (paid for in evaluations).")] = False,
    large: LargeOpt = False,
    backend: BackendOpt = None,
    batch_size: BatchOpt = None,
    threads: ThreadsOpt = None,
    results: ResultsOpt = None,
    cache_dir: CacheOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    ray_actors: RayActorsOpt = 1,
    ray_gpus: RayGpusOpt = 0.0,
    in_flight: Annotated[Optional[int], typer.Option(
        "--in-flight", min=1, help="Batches kept running at once; the next is chosen while they run and "
        "counts against the budget when asked for (default: 1, with ray 2 per actor; on a recorded zoo it "
        "replays such a cluster).")] = None,
    dtype: DtypeOpt = None,
    device: DeviceOpt = None,
    trust_remote_code: TrustOpt = False,
    concurrency: ConcurrencyOpt = None,
    task_file: Annotated[Optional[Path], typer.Option(
        "--task-file", rich_help_panel=PANEL, help="Your own task (JSONL, JSON or CSV, as `evaluate` reads it), for a "
        "zoo whose members run.")] = None,
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
) -> None:
    """Pick the best model of a zoo for a task to a stated confidence, evaluating as few items
    as it can: a prior from the zoo's other tasks, then items on the contenders (top-two Thompson
    sampling) until P(pick within epsilon of the best) >= confidence or the budget is spent.

    On a local zoo the members run live (--backend, --models), here or on a Ray cluster (--executor
    ray); every scored item goes to the run log `evaluate` keeps, so a killed select resumes and a
    later evaluate reuses its items. On Ray, selection keeps --in-flight batches running and chooses
    the next from the ones that have ended; it stops only once every batch it asked for has ended.

    Examples:

      llm-spider select --zoo mmlu-pro --level src --task ori_mmlu-nutrition
      llm-spider select --zoo local --task arc_challenge --budget 200
      llm-spider select --zoo my-zoo.yaml --task arc_easy --budget 60
      llm-spider select --zoo local --task-file my_task.jsonl --budget 100
      llm-spider select --zoo local --task arc_challenge --executor ray --ray-actors 2

    Your own models in a zoo file: docs/zoos.md.
    """
    out = api.select(task, zoo, level, prior, prior_strength, epsilon, confidence, budget, budget_share,
                     api.split_names(models), seed, backend, batch_size, threads, results, large, cache_dir,
                     label_free, PROGRESS, executor, ray_address, ray_actors, in_flight, ray_gpus, dtype, device,
                     trust_remote_code, concurrency, task_file,
                     scoring_from(scoring, max_new_tokens, stop, extract, metric, tolerance),
                     sources_from(lm_eval_include, question_field, choices_field, answer_field))
    r = out.result
    task = out.task
    df = r.frame()
    if out.truth is not None:  # the measured accuracy on the whole task, for reading the pick: never used by it
        df["recorded_accuracy"] = out.truth.reindex(df["model"]).to_numpy()
    ran = "" if out.forward_passes is None else f" ({out.forward_passes:,} run now, the rest from run logs)"
    ran += f", {r.in_flight} batches in flight" if r.in_flight > 1 else ""
    if out.usage:
        ran += (f", {out.usage.get('prompt_tokens', 0):,} prompt + {out.usage.get('completion_tokens', 0):,} "
                "completion tokens served")
    emit(df, fmt, title=f"{task}: pick {r.pick} (P within {epsilon} of the best {r.p_good:.3f}; stopped by "
                        f"{r.stopped}) after {r.evaluations:,} item evaluations{ran} = {r.cost_share:.2%} of brute "
                        f"force ({r.brute_force:,}); {_timing(out.seconds, out.prior_cached)}")
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
    workers: Annotated[int, typer.Option("--workers", "-j", min=1, help="Processes, one left-out task each "
                                         "(the results do not depend on it).")] = 1,
    fmt: FormatOpt = Format.table,
) -> None:
    """Selection methods on a recorded zoo, each task left out in turn: how often the pick is within
    0.02 of the best, and at what share of brute force's item evaluations."""
    from llm_spider.selection.benchmark import METHODS, pool_zoos, priors_needed, run, servable, summarize
    from llm_spider.selection.prior import NEEDS_ITEMS, NEEDS_TOKENS
    from llm_spider.writing import check_output, write_json_atomic

    if output:  # before the work, not after it
        check_output(output, "records")
        check_output(output.with_suffix(".png"), "plot")
    z = api.load_recorded(zoo)
    records = []
    methods, notes = servable(z, method or METHODS)
    for note in notes:
        stderr.print(f"note: {note}")
    if not methods:
        raise SpiderError(f"no method given can run on recorded zoo '{z.name}'")
    needed = priors_needed(methods) if "question" in z.questions.columns else []
    for lv in level or [z.levels[0]]:
        tokens = api.recorded_tokens(z, lv, PROGRESS) if any(p in NEEDS_TOKENS for p in needed) else None
        items = api.recorded_items(z, lv, PROGRESS) if any(p in NEEDS_ITEMS for p in needed) else None
        records += run(z, lv, members or ["all"], methods, seed or [0], tokens=tokens, workers=workers,
                       progress=PROGRESS, items=items)
    summary = summarize(records)
    emit(summary, fmt, title=f"select on recorded zoo '{z.name}': means over tasks × seeds (× zoos for sub12)")
    if output:
        from llm_spider.plots import save_select_plot

        write_json_atomic(output, pool_zoos(records), one_per_line=True)
        save_select_plot(summary, output.with_suffix(".png"))
        stderr.print(f"wrote {output} and {output.with_suffix('.png')}")
