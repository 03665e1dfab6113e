"""``llm-spider data``: which public data sets are where, and converting them ahead of time."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import pandas as pd
import typer

from llm_spider.cli.common import FormatOpt, app, reads_data, user_errors
from llm_spider.output import Format, emit, progress_bar, stderr

data_app = typer.Typer(help="The public data sets (leaderboard, MMLU, BBH, ...): where each is read from. "
                            "See docs/data.md.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("list")
@user_errors
@reads_data
def data_list(fmt: FormatOpt = Format.table):
    """Each table of the data layer and where it would be read from now (nothing is fetched).

    Order of look-up: the data folder (--data-dir, else $LLM_SPIDER_DATA), an earlier conversion of the
    Hugging Face Hub copy, the Hub itself when online.
    """
    from llm_spider import datasets

    root = datasets.data_dir()
    emit(datasets.status(), fmt, title=f"data folder: {root or '(none: set LLM_SPIDER_DATA or pass --data-dir)'}")


@data_app.command("fetch")
@user_errors
@reads_data
def data_fetch(
    tables: Annotated[Optional[list[str]], typer.Argument(help="Tables to convert (default: all; see `data list`).")] = None,
    fmt: FormatOpt = Format.table,
):
    """Convert tables into the cache now (from the data folder, or download them from the Hub), so that
    later commands read them in milliseconds. Prints each table's source, rows and content hash.

    Example: llm-spider data fetch leaderboard mmlu --data-dir ../shared/data
    """
    from llm_spider import datasets

    names = list(tables or datasets.TABLES)
    for n in names:
        datasets.table(n)  # validate every name before any work
    rows = []
    with progress_bar() as bar:
        job = bar.add_task("converting", total=len(names))
        for n in names:
            bar.update(job, description=f"converting {n}")
            t0 = time.perf_counter()
            df = datasets.load(n)
            meta = datasets.info(n)
            rows.append({"table": n, "source": meta["source"], "from": meta.get("path") or meta.get("hub_id"),
                         "rows": len(df), "content_sha": meta["content_sha"][:16],
                         "seconds": round(time.perf_counter() - t0, 3)})
            bar.advance(job)
    emit(pd.DataFrame(rows), fmt, title=f"{len(rows)} table(s) ready in {datasets.cache_root()}")
    stderr.print("note: tables read from the cache took milliseconds; a changed source file is converted again")
