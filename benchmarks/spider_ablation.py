"""What each part of the Spider buys: the benchmark protocols with parts switched off.

    python benchmarks/spider_ablation.py [--seeds 1]

Variants (all other hyper-parameters at their defaults):
- ``paper``: θ_m tokens + transformer scorer trained with the listwise loss, nothing else;
- ``+residual``: the scorer learns a residual over the leaderboard mean (starts from it);
- ``+memory`` (the default Spider): plus the history read-out with its null slot;
- ``memory-untrained``: the default at initialisation (epochs=0): what training adds;
- ``no-mixtures``: the default without sampled task mixtures.
Prints a table and writes benchmarks/results/spider_ablation.json (records: variant, protocol, seed,
weighted_tau, top1_regret, top1_hit, seconds, params).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).parent / "results" / "spider_ablation.json"
VARIANTS = {
    "paper": {"residual": False, "memory": False},
    "+residual": {"memory": False},
    "+memory (default)": {},
    "memory-untrained": {"epochs": 0},
    "no-mixtures": {"mixtures": 0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per variant")
    parser.add_argument("--variant", action="append", choices=list(VARIANTS), help="only these (repeatable)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    from llm_spider.api import comparable_tasks, encode_tasks, task_encoder
    from llm_spider.benchmark import DEFAULT_PROTOCOLS, get_protocol, run_protocol
    from llm_spider.output import RichProgress
    from llm_spider.zoo import History

    history = History.from_leaderboard()
    tokens = encode_tasks(comparable_tasks(history), task_encoder(32, 0, None), RichProgress())
    records = []
    for variant in args.variant or list(VARIANTS):
        params = VARIANTS[variant]
        for protocol in DEFAULT_PROTOCOLS:
            for seed in range(args.seeds):
                summary, _ = run_protocol(history, get_protocol(protocol), "spider", seed, tokens, params=params)
                records.append({"variant": variant, "protocol": protocol, "seed": seed,
                                **{k: summary[k] for k in ("weighted_tau", "top1_regret", "top1_hit", "seconds")},
                                "params": params})
                print(f"{variant:<18} {protocol:<12} seed {seed}: τw {summary['weighted_tau']:.4f} "
                      f"regret {summary['top1_regret']:.4f} ({summary['seconds']:.0f}s)", flush=True)
    if args.variant and args.output.is_file():  # a partial rerun replaces only its own variants' records
        kept = [r for r in json.loads(args.output.read_text()) if r["variant"] not in set(args.variant)]
        records = sorted(kept + records, key=lambda r: list(VARIANTS).index(r["variant"]))
    df = pd.DataFrame(records)
    table = df.pivot_table(index="variant", columns="protocol", values="weighted_tau", aggfunc="mean", sort=False)
    print("\nmean weighted τ\n" + table.round(4).to_string())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(records, indent=1) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
