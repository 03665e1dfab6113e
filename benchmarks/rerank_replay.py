"""Re-ranking replayed from stored results: how top-1 accuracy and weighted τ move with k, no model run.

    python benchmarks/rerank_replay.py                       # local and multisource zoos, k = 1..6
    python benchmarks/rerank_replay.py --zoo multisource --top-k 2,4

Every probe of a single (non-composite) task of the live set is among the items `evaluate`
scored, so the probe runs of `compare` can be read back from the zoo's items table instead of
run live (benchmark/live.py: stored_probe_runs): the same log-probabilities, the same selection
code, only no seconds and no verbal self-rating. That makes a sweep over k cost minutes, where the
live benchmark costs a quarter of an hour per setting. The live benchmark (live_zoo.py) stays the
record: this one is a sensitivity check. Writes benchmarks/results/rerank_replay.json (one record
per zoo, k, task and method: the fields of live_zoo.json without seconds).
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
    ap.add_argument("--zoo", default="local,multisource", help="comma-separated zoos")
    ap.add_argument("--top-k", default="1,2,3,4,5,6", help="comma-separated k values (capped at zoo size - 1)")
    ap.add_argument("--probes", type=int, default=16)
    ap.add_argument("--features", default=None,
                    help="what the evidence re-rank weighs, e.g. prior,probe_accuracy,gold_prob (default: the product's)")
    ap.add_argument("--output", type=Path, default=RESULTS / "rerank_replay.json")
    args = ap.parse_args()

    import pandas as pd
    from rich.console import Console

    from llm_spider.api import encode_tasks, task_encoder
    from llm_spider.benchmark.live import (
        brute_force,
        local_results,
        score_selections,
        select_all,
        stored_probe_runs,
        truth_for,
    )
    from llm_spider.output import Format, RichProgress, emit
    from llm_spider.ranking.rerank import DEFAULT_FEATURES
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.evaluate import LIVE_TASK_SET
    from llm_spider.zoo.local import load_zoo

    features = tuple(args.features.split(",")) if args.features else DEFAULT_FEATURES
    console = Console(stderr=True)
    encoder = task_encoder(32, 0, None)
    records = []
    for zoo_name in args.zoo.split(","):
        zoo = load_zoo(zoo_name)
        history, items = local_results(None, zoo.results_dir)
        names = history.models
        targets = [REGISTRY.get(t) for t in LIVE_TASK_SET]
        tokens = encode_tasks([REGISTRY.get(t) for t in history.tasks], encoder, RichProgress())
        ks = sorted({min(int(k), len(names) - 1) for k in args.top_k.split(",")})
        for target in targets:
            t0 = time.perf_counter()
            truth = truth_for(target, names, history)
            runs, probes = stored_probe_runs(items, names, target, args.probes)
            bf = brute_force(target, truth, history)
            for k in ks:
                sels = [s for s in select_all(target, names, history, items, tokens, runs, probes, top_k=k,
                                              n_probes=args.probes, evidence_features=features)
                        if s.order]  # verbal: not replayed
                for r in score_selections(target, truth, [*sels, bf], 0.0, bf.forward_passes):
                    r.pop("seconds"), r.pop("encoder_seconds")
                    records.append({**r, "zoo": zoo.name, "top_k": k, "probes": args.probes,
                                    "rerank_features": ",".join(features)})
            console.print(f"{zoo.name} · {target.name}: k = {ks} in {time.perf_counter() - t0:.0f} s")
    df = pd.DataFrame(records)
    table = (df.groupby(["zoo", "top_k", "method"], sort=False)
               .agg(tasks=("task", "nunique"), top1_accuracy=("top1_accuracy", "mean"),
                    weighted_tau=("weighted_tau", "mean"), forward_passes=("forward_passes", "sum"))
               .reset_index())
    brute = table[table["method"] == "brute force"].set_index(["zoo", "top_k"])["forward_passes"]
    table["passes_vs_brute_force"] = [p / brute[(z, k)] for z, k, p in
                                      zip(table["zoo"], table["top_k"], table["forward_passes"])]
    emit(table, Format.table, title=f"re-ranking replayed from stored probe results ({args.probes} probes)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(records, indent=1) + "\n")
    console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
