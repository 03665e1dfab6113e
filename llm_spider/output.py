"""Render tables for people (rich) or programs (JSON, CSV), always on stdout.

Progress (rich bars, the API's ``Progress`` drawn) and notes go to stderr, so ``--format json`` output can be piped as is.

Every text shown is the user's or the data's, never rich markup: ``stderr`` is a console with
markup off, and table cells, titles and bar descriptions are ``plain``. Why: rich reads
``[local-large]`` in ``pip install 'llm-spider[local-large]'`` as a style tag and drops it,
sending the user to a command that installs nothing.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBars
from rich.table import Table
from rich.text import Text

from llm_spider.progress import Bar, Progress

stderr = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)  # one line a note: the terminal wraps it


def plain(text: object) -> Text:
    """``text`` shown exactly as written (brackets included), for any rich output."""
    return Text(str(text))


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN or ∞: both become null
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def records(df: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def emit(df: pd.DataFrame, fmt: Format, title: str | None = None, digits: int = 4) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps(records(df), indent=2) + "\n")
    elif fmt is Format.csv:
        df.to_csv(sys.stdout, index=False)
    else:
        table = Table(title=plain(title) if title is not None else None, title_justify="left")
        for col in df.columns:
            table.add_column(plain(col), justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
        for row in df.itertuples(index=False):
            table.add_row(*[_fmt_cell(v, digits) for v in row])
        # wide enough that every cell is whole (a cut model name is a wrong name), up to a limit
        natural = Console(width=1000).measure(table).maximum
        Console(width=max(120, Console().width, min(natural, 250))).print(table)


def _fmt_cell(value, digits: int) -> Text:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return plain("–")
    if isinstance(value, float):
        return plain(f"{value:.{digits}f}")
    return plain(value)


def progress_bar() -> RichBars:
    # Not a terminal (a log file, a pipe): no bars, which would leave only blank lines there.
    return RichBars(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=stderr, transient=True, disable=not stderr.is_terminal)


class _RichBar(Bar):
    def __init__(self, bars: RichBars, job):
        self.bars, self.job = bars, job

    def advance(self, n: float = 1) -> None:
        self.bars.advance(self.job, n)

    def update(self, completed: float | None = None, total: float | None = None,
               description: str | None = None) -> None:
        self.bars.update(self.job, completed=completed, total=total, description=description)


class RichProgress(Progress):
    """The API's progress on stderr: notes as lines, bars as transient rich bars."""

    def note(self, message: str) -> None:
        stderr.print(message, highlight=False, soft_wrap=True)

    @contextmanager
    def bar(self, description: str, total: float | None = None) -> Iterator[Bar]:
        with progress_bar() as bars:
            yield _RichBar(bars, bars.add_task(description, total=total))
