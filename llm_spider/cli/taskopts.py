"""The options that say which tasks run and how they are scored: task files, lm-eval task folders,
dataset columns, the scoring mode and generation settings (`evaluate`, `compare`, `select`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from llm_spider.tasks.answers import EXTRACTIONS, METRICS
from llm_spider.tasks.scoring import MODES

PANEL = "Tasks and scoring"
GEN_PANEL = "Generated answers"
TaskFilesOpt = Annotated[Optional[list[Path]], typer.Option(
    "--task-file", rich_help_panel=PANEL, help="Your own task: JSONL, JSON or CSV with question, choices and answer "
    "(as `rank` reads it); an item without choices is answered by generation, its answer a string or a list of "
    "accepted strings. Repeat for several.")]
ScoringOpt = Annotated[Optional[str], typer.Option(
    "--scoring", rich_help_panel=PANEL, help=f"How items are scored: {', '.join(MODES)}. letter: the next-token "
    "log-probability of the option letter; continuation: the log-likelihood of each option's text (lm-eval's acc); "
    "continuation-norm: the same per character (lm-eval's acc_norm); generate: greedy generation read by --extract "
    "and --metric. Default: each task's own (an lm-eval task's output type; generate for a task without options; "
    "else letter). Runs of each mode are logged apart.")]
IncludeOpt = Annotated[Optional[list[Path]], typer.Option(
    "--lm-eval-include", rich_help_panel=PANEL, help="A folder of your own lm-eval task YAMLs, for --task "
    "lm-eval:NAME (the [harness] extra). Repeat for several.")]
QuestionFieldOpt = Annotated[str, typer.Option("--question-field", rich_help_panel=PANEL,
                                               help="For --task hf:...: the column holding the question.")]
ChoicesFieldOpt = Annotated[str, typer.Option("--choices-field", rich_help_panel=PANEL,
                                              help="For --task hf:...: the column holding the options.")]
AnswerFieldOpt = Annotated[str, typer.Option("--answer-field", rich_help_panel=PANEL,
                                             help="For --task hf:...: the column holding the answer.")]
MaxNewTokensOpt = Annotated[Optional[int], typer.Option(
    "--max-new-tokens", min=1, rich_help_panel=GEN_PANEL, help="Tokens a generated answer may take (default: the "
    "task's, else 48).")]
StopOpt = Annotated[Optional[list[str]], typer.Option(
    "--stop", rich_help_panel=GEN_PANEL, help="A stop sequence (repeat for several; default: the task's, else a blank "
    "line). Write a newline as \\n.")]
ExtractOpt = Annotated[Optional[str], typer.Option(
    "--extract", rich_help_panel=GEN_PANEL, help=f"Where the answer is in the text: {', '.join(EXTRACTIONS)} "
    "(default: first-line; letter for items with options).")]
MetricOpt = Annotated[Optional[str], typer.Option(
    "--metric", rich_help_panel=GEN_PANEL, help=f"How it is judged: {', '.join(METRICS)} (default exact_match, after "
    "normalising case, spaces and a final full stop; numeric: the first number, within --tolerance).")]
ToleranceOpt = Annotated[Optional[float], typer.Option("--tolerance", min=0.0, rich_help_panel=GEN_PANEL,
                                                       help="numeric: the largest absolute difference accepted.")]


def scoring_from(mode: str | None, max_new_tokens: int | None, stop: list[str] | None, extract: str | None,
                 metric: str | None, tolerance: float | None):
    """A tasks.scoring.Scoring from the options; None where nothing was said (each task's own)."""
    from llm_spider.tasks.scoring import Scoring

    said = {k: v for k, v in (("max_new_tokens", max_new_tokens),
                              ("stop", tuple(s.encode().decode("unicode_escape") for s in stop) if stop else None),
                              ("extract", extract), ("metric", metric), ("tolerance", tolerance)) if v is not None}
    return Scoring(mode, said) if mode or said else None


def sources_from(include: list[Path] | None, question: str, choices: str, answer: str):
    """A tasks.resolve.TaskSources from the options; None where all are the defaults."""
    from llm_spider.tasks.hfdata import Fields
    from llm_spider.tasks.resolve import TaskSources

    if not include and (question, choices, answer) == ("question", "choices", "answer"):
        return None
    return TaskSources(tuple(include or ()), Fields(question, choices, answer))
