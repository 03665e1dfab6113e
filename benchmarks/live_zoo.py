"""The live zoo benchmark: every selection method on every task of the shipped evaluation set.

    python benchmarks/live_zoo.py                 # the three default members, top-k 2, 16 probes
    python benchmarks/live_zoo.py --top-k 3 --probes 8
    python benchmarks/live_zoo.py --zoo multisource   # 3 bases + 9 LoRA specialists → live_zoo_multisource.json

Each task of the set (and mmlu_subset, the composite of its ten MMLU subjects) is a target in
turn; the ground truth is the zoo's shipped `evaluate` table (llm_spider/data/zoos/<zoo>/history.csv),
and the history the rankers learn from is that table without the target's own tasks. Models run
live on the probes (transformers backend, CPU). Prints the mean per method and writes
benchmarks/results/live_zoo.json (one record per task and method: task, method, top1_accuracy,
weighted_tau, top1_regret, forward_passes, seconds, and more) and live_zoo.png.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--top-k", type=int, default=2)
    ap.add_argument("--probes", type=int, default=16)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--models", default=None, help="comma-separated members (default: the installed defaults)")
    ap.add_argument("--zoo", default="local", help="local (default) or multisource, or a zoo file/directory")
    ap.add_argument("--output", type=Path, default=None,
                    help="default: results/live_zoo.json, or live_zoo_<zoo>.json for another zoo")
    args = ap.parse_args()
    if args.output is None:
        args.output = RESULTS / ("live_zoo.json" if args.zoo == "local" else f"live_zoo_{Path(args.zoo).stem}.json")

    from rich.console import Console

    from llm_spider.api import encode_tasks, pick_models, task_encoder
    from llm_spider.benchmark.live import (
        compare,
        local_results,
        paired_differences,
        summarize_live,
    )
    from llm_spider.output import Format, RichProgress, emit
    from llm_spider.plots import save_live_plot
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.evaluate import LIVE_TASK_SET
    from llm_spider.zoo.local import load_backend, load_zoo

    console = Console(stderr=True)
    zoo = load_zoo(args.zoo)
    history, items = local_results(None, zoo.results_dir)
    members = pick_models(zoo, args.models, False, RichProgress())
    targets = [REGISTRY.get("mmlu_subset"), *(REGISTRY.get(t) for t in LIVE_TASK_SET)]
    encoder = task_encoder(32, 0, None)
    cache: dict = {}

    def loader(m):  # load each member once for the whole run; its load time is charged once per task
        if m.name not in cache:
            cache[m.name] = load_backend(m, threads=args.threads, progress=RichProgress())
        b = cache[m.name]
        b.close = lambda: None
        return b

    t0 = time.perf_counter()
    records = []
    for target in targets:
        console.print(f"[bold]{target.name}[/]")
        records += compare([target], members, history, items, encoder, loader, top_k=args.top_k,
                           n_probes=args.probes, log=console.print, encode=lambda ts: encode_tasks(ts, encoder, RichProgress()))
    wall = time.perf_counter() - t0
    for r in records:
        r.update(top_k=args.top_k, probes=args.probes, zoo=zoo.name)
    summary = summarize_live(records)
    emit(summary, Format.table, title=f"zoo '{zoo.name}': {len(members)} models × {len(targets)} tasks, top-k {args.top_k}, "
                                      f"{args.probes} probes ({wall:.0f} s)")
    import pandas as pd

    paired = pd.concat([paired_differences(records, m) for m in ("spider+rerank", "spider+evidence")])
    emit(paired, Format.table, title="re-ranked Spider minus each baseline, per task: mean, 95 % paired bootstrap "
                                     "interval, wins/ties/losses")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(records, indent=1) + "\n")
    save_live_plot(summary, args.output.with_suffix(".png"))
    console.print(f"wrote {args.output} and {args.output.with_suffix('.png')}")


if __name__ == "__main__":
    main()
