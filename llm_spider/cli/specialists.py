"""`llm-spider zoo build-specialists`: LoRA domain specialists of the local zoo's base models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from llm_spider import api
from llm_spider.api import split_names
from llm_spider.cli.common import (
    PROGRESS,
    CacheOpt,
    FormatOpt,
    reads_data,
    user_errors,
    zoo_app,
)
from llm_spider.cli.live import ThreadsOpt
from llm_spider.output import Format, emit


@zoo_app.command("build-specialists")
@user_errors
@reads_data
def build_specialists(
    bases: Annotated[Optional[str], typer.Option("--bases", help="Comma-separated base members of the local zoo "
                                                               "(default: its installed default members).")] = None,
    sources: Annotated[Optional[str], typer.Option("--sources", help="Comma-separated training sources "
                                                                   "(default: all; see --help's list).")] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimiser steps per specialist.")] = 48,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Items per step.")] = 4,
    rank: Annotated[int, typer.Option("--rank", min=1, help="LoRA rank (alpha = 2 × rank).")] = 8,
    lr: Annotated[float, typer.Option("--lr", help="AdamW learning rate.")] = 1e-3,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the items drawn and the LoRA init.")] = 0,
    output: Annotated[Optional[Path], typer.Option("--output", help="The zoo directory specialists go to; its "
                                                   "zoo.json makes it a zoo (`--zoo DIR`) of the bases and every "
                                                   "specialist in it (default: llm-spider/zoos/specialists in your data folder, ~/.local/share).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Retrain specialists that exist already.")] = False,
    threads: ThreadsOpt = None,
    cache_dir: CacheOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fine-tune each base model on each training source with LoRA (peft): the domain specialists.

    Sources (disjoint from every evaluated and probe question, checked by hash): mmlu-stem,
    mmlu-humanities, mmlu-social, mmlu-other (MMLU validation split), science (ARC), commonsense
    (CommonsenseQA, PIQA, SocialIQA, OpenBookQA dev), medicine (MedQA). Each specialist trains on
    steps × batch-size seeded items; existing ones are kept, so an interrupted build resumes.
    The shipped `multisource` zoo was built with
    `--bases gemma3-270m` (all sources) and `--bases qwen2.5-coder-0.5b-instruct --sources mmlu-stem,medicine`,
    `--output llm_spider/data/zoos/multisource`, default recipe.
    """
    records = api.build_specialists(split_names(bases), split_names(sources), steps, batch_size, rank, lr, seed,
                                    output, rebuild, threads, cache_dir, PROGRESS)
    df = pd.DataFrame([{"specialist": f"{r['base']}+{r['source']}", "items": r["train_items"],
                        "loss_first": r["loss_first"], "loss_last10": r["loss_last10_mean"],
                        "seconds": r["seconds"]} for r in records])
    emit(df, fmt, title=f"{len(records)} specialists (LoRA rank {rank}, {steps} steps × {batch_size})")
