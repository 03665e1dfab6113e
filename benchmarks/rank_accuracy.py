"""How often `rank`'s 90 % accuracy interval holds the truth on tasks held out of the history.

    python benchmarks/rank_accuracy.py

For each method `rank` offers an accuracy for (spider, leaderboard, similar-tasks) and each protocol
(loto-mmlu, loto-bbh, mmlu-to-bbh): the method and its accuracy map are fitted on the training
tasks, the held-out task is predicted, and the models' true accuracies are compared with the
intervals. Prints a table (coverage: share of (task, model) truths inside the interval; mae: mean
absolute error of the predicted accuracy; |level error|: how far the zoo's mean accuracy on the task
was mis-guessed; width: the interval's; and the same two on the history, as the map saw it) and
writes benchmarks/results/rank_accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).parent / "results" / "rank_accuracy.json"
METHODS = ("spider", "leaderboard", "similar-tasks")
PROTOCOLS = ("loto-mmlu", "loto-bbh", "mmlu-to-bbh")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", type=Path, default=RESULTS)
    ap.add_argument("--method", action="append", choices=METHODS, help="default: all three")
    args = ap.parse_args()
    from llm_spider import api
    from llm_spider.benchmark import get_protocol
    from llm_spider.benchmark.accuracy import accuracy_folds, summarize_accuracy

    history = api.load_history()
    tokens = api.encode_tasks(api.comparable_tasks(history), api.task_encoder())
    records = []
    for method in args.method or METHODS:
        for name in PROTOCOLS:
            start = time.perf_counter()
            recs = accuracy_folds(history, get_protocol(name), method, tokens)
            print(f"{method} · {name}: {len(recs)} tasks in {time.perf_counter() - start:.0f} s", flush=True)
            records += recs
    summary = summarize_accuracy(records)
    print(summary.round(3).to_string(index=False))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps([{k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()}
                                       for r in records], indent=1) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
