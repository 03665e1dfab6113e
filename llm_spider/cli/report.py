"""`llm-spider report`: the selection for a task as one static HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from llm_spider import api
from llm_spider.cli.common import PROGRESS, CacheOpt, app, reads_data, user_errors
from llm_spider.cli.live import ResultsOpt
from llm_spider.cli.taskopts import (
    PANEL,
    ExtractOpt,
    IncludeOpt,
    MaxNewTokensOpt,
    MetricOpt,
    ScoringOpt,
    StopOpt,
    ToleranceOpt,
    scoring_from,
    sources_from,
)
from llm_spider.cli.select import (
    BudgetOpt,
    CandidatesOpt,
    ConfidenceOpt,
    EpsilonOpt,
    LevelOpt,
    PriorOpt,
    SeedOpt,
    SelectZooOpt,
    TaskOpt,
)
from llm_spider.output import stderr


@app.command("report")
@user_errors
@reads_data
def report(
    task: TaskOpt = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
    zoo: SelectZooOpt = "mmlu-pro",
    level: LevelOpt = None,
    confidence: ConfidenceOpt = 0.95,
    epsilon: EpsilonOpt = 0.02,
    budget: BudgetOpt = None,
    prior: PriorOpt = "auto",
    models: CandidatesOpt = None,
    seed: SeedOpt = 0,
    cache_dir: CacheOpt = None,
    results: ResultsOpt = None,
    task_file: Annotated[Optional[Path], typer.Option(
        "--task-file", rich_help_panel=PANEL, help="Your own task (JSONL, JSON or CSV), for a zoo whose members "
        "run; on a generated-answer task the page shows a few of the pick's answers.")] = None,
    scoring: ScoringOpt = None,
    lm_eval_include: IncludeOpt = None,
    max_new_tokens: MaxNewTokensOpt = None,
    stop: StopOpt = None,
    extract: ExtractOpt = None,
    metric: MetricOpt = None,
    tolerance: ToleranceOpt = None,
) -> None:
    """Select the model for a task (as `select` does) and write one static HTML page to share: the
    ranking with intervals and P(best), the pick and why, its cost against brute force, accuracy
    against cost, and how far the task's own items can settle the winner. No server, no network:
    styles inline, the plot inside the file.

    Example: llm-spider report --zoo mmlu-pro --task biology --output biology.html
    """
    path, out = api.report(task, output, zoo, level, prior, epsilon, confidence, budget, api.split_names(models),
                           seed, cache_dir, PROGRESS, task_file,
                           scoring_from(scoring, max_new_tokens, stop, extract, metric, tolerance),
                           sources_from(lm_eval_include, "question", "choices", "answer"), results)
    r = out.result
    task = out.task
    stderr.print(f"{task}: pick {r.pick} (P within {epsilon} of the best {r.p_good:.3f}) after {r.evaluations:,} "
                 f"item evaluations ({r.cost_share:.2%} of brute force); report written to {path}")
