"""How the three multiple-choice scoring modes rank the local zoo on the built-in tasks.

Each default member of the local zoo scores the same seeded sample of every task of the shipped
evaluation set three ways: ``letter`` (the option letter after a prompt listing the options, what
`evaluate` does by default), ``continuation`` (each option's text as a continuation of a prompt
without options: lm-eval's ``acc``) and ``continuation-norm`` (the same per character: ``acc_norm``).
Per task it reports the weighted τ between each pair of modes' orders of the members, and each
mode's order against the task's truth: the members' recorded accuracy on the whole task (the
shipped results, letter-scored: letter's agreement with it is partly by construction, since its
sample is part of the truth's items).

Runs go through `evaluate`'s own path (``evaluate_run``, resumable run logs, one per mode); the
letter items come from the shipped store where it holds them. continuation-norm's choices are read
from a run of its own too (the product never reuses one mode's log for another).

    python benchmarks/scoring_modes.py                 # ~25 min on 2 CPU cores
    python benchmarks/scoring_modes.py --max-items 20 --tasks mmlu_marketing,arc_challenge
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np

MODES = ("letter", "continuation", "continuation-norm")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=None, help="comma-separated (default: the shipped evaluation set)")
    ap.add_argument("--max-items", type=int, default=40, help="the seeded sample per task")
    ap.add_argument("--results", type=Path, default=None, help="where the run logs go (default: a new temporary folder)")
    ap.add_argument("--output", type=Path, default=Path("benchmarks/results/scoring_modes.json"))
    args = ap.parse_args()

    from llm_spider.benchmark.modes import summarize_modes
    from llm_spider.metrics import top1_regret, weighted_tau
    from llm_spider.tasks import REGISTRY
    from llm_spider.tasks.scoring import Scoring
    from llm_spider.zoo.evaluate import LIVE_TASK_SET, SHIPPED_LOCAL_DIR, LocalStore, evaluate_run
    from llm_spider.zoo.local import load_backend, load_zoo

    names = args.tasks.split(",") if args.tasks else list(LIVE_TASK_SET)
    tasks = [REGISTRY.get(n) for n in names]
    members = [m for m in load_zoo("local").select(None) if m.installed]
    truth = LocalStore(SHIPPED_LOCAL_DIR).history_frame().pivot(index="task", columns="model", values="score")
    root = args.results or Path(tempfile.mkdtemp(prefix="scoring-modes-"))
    store, shipped = LocalStore(root), [LocalStore(SHIPPED_LOCAL_DIR)]
    acc: dict[tuple[str, str], dict[str, float]] = {}
    seconds: dict[tuple[str, str], float] = {}
    for m in members:
        backend = load_backend(m)
        for mode in MODES:
            for t in tasks:
                t0 = time.perf_counter()
                row = evaluate_run(backend, m, t, store, chunk=8, max_items=args.max_items, scoring=Scoring(mode),
                                   reuse=shipped if mode == "letter" else ())
                acc.setdefault((t.name, mode), {})[m.name] = row["score"]
                seconds[(t.name, mode)] = seconds.get((t.name, mode), 0.0) + time.perf_counter() - t0
                print(f"{m.name:28s} {mode:18s} {t.name:32s} {row['score']:.3f} ({row['n_items']} items)", flush=True)
        backend.close()

    order = [m.name for m in members]
    records = []
    for t in tasks:
        true = truth.loc[t.name, order].to_numpy(dtype=float)
        for mode in MODES:
            pred = np.array([acc[(t.name, mode)][m] for m in order])
            records.append({"task": t.name, "method": mode, "measure": "vs_truth",
                            "weighted_tau": weighted_tau(true, pred), "top1_regret": top1_regret(true, pred),
                            "top1_model": order[int(np.argmax(pred))], "truth_top1": order[int(np.argmax(true))],
                            "accuracy": {m: round(acc[(t.name, mode)][m], 4) for m in order},
                            "items": min(args.max_items, len(t.items)), "seconds": round(seconds[(t.name, mode)], 1)})
        for a, b in itertools.combinations(MODES, 2):
            pa = np.array([acc[(t.name, a)][m] for m in order])
            pb = np.array([acc[(t.name, b)][m] for m in order])
            records.append({"task": t.name, "method": f"{a} ~ {b}", "measure": "between_modes",
                            "weighted_tau": weighted_tau(pa, pb)})
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(records, indent=1) + "\n")
    print(summarize_modes(records).to_string(index=False))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
