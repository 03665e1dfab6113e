"""The library API under the CLI: what `llm-spider` does, callable from Python.

    from llm_spider import api

    result = api.rank(task="mmlu_subset")          # the shipped Spider, no training
    print(result.frame(top=5))
    spider, path, seconds = api.train(epochs=4)    # your own Spider on the data folder's leaderboard

Slow calls take ``progress=`` (llm_spider.progress.Progress; silent by default).
"""

from llm_spider.api.imports import import_runs, imported_tasks
from llm_spider.api.live import (
    Interrupted,
    build_specialists,
    compare,
    evaluate,
    local_zoo_frame,
    pick_models,
    split_names,
    zoo_results,
)
from llm_spider.api.llm import (
    DEFAULT_METHOD,
    DEFAULT_PROMPTS,
    RankResult,
    add_model,
    benchmark_llm,
    checkpoint_encoder,
    comparable_tasks,
    encode_tasks,
    encoder_info,
    fit_error_words,
    ignored_task_notes,
    load_history,
    load_spider,
    rank,
    task_encoder,
    train,
    train_spider,
    zoo_frame,
)
from llm_spider.api.report import report
from llm_spider.api.select import SelectResult, recorded_items, recorded_tokens, select
from llm_spider.zoo.recorded import import_items, load_recorded, recorded_dir
from llm_spider.zoo.recorded import summary as recorded_summary

__all__ = ["DEFAULT_METHOD", "DEFAULT_PROMPTS", "Interrupted", "RankResult", "add_model", "benchmark_llm", "build_specialists",
           "checkpoint_encoder", "comparable_tasks", "compare", "import_items", "load_recorded", "recorded_dir",
           "recorded_items", "recorded_summary", "recorded_tokens", "report", "select", "SelectResult", "encode_tasks", "encoder_info", "evaluate", "fit_error_words", "import_runs", "imported_tasks", "ignored_task_notes",
           "load_history", "load_spider", "local_zoo_frame", "pick_models", "rank", "split_names", "task_encoder",
           "train", "train_spider", "zoo_frame", "zoo_results"]
