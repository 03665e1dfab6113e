"""Ray against the local executor on this machine: scoring throughput with 1 and 2 actors, and
recorded-zoo `select` over every MMLU-Pro category fanned out over Ray workers.

    python benchmarks/ray_scaling.py        # needs llm-spider[ray,local]; ~5 min on 2 cores

Part 1 evaluates SmolLM2-135M on the same 80 items of mmlu_high_school_european_history (long
prompts, so scoring dominates) three ways:
- locally with 2 torch threads;
- on a Ray cluster started in-process with 1 actor of 2 threads;
- with 2 actors of 1 thread each.
Every run starts from an empty results folder and reuses nothing. Model loading is part of each
run's time; Ray's own start-up is timed apart.
Part 2 runs `select` (leaderboard prior) on each of the 14 categories, one after another in this
process, then as Ray tasks on 2 workers.
Prints a table and writes benchmarks/results/ray_scaling.json: per run, the seconds, items per
second and the ratio to the local executor; docs/scaling.md reads its per-item costs.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).parent / "results" / "ray_scaling.json"
MODEL, TASK, ITEMS = "smollm2-135m-instruct", "mmlu_high_school_european_history", 80


def _select_one(task: str) -> tuple[str, int]:
    from llm_spider import api

    r = api.select(task, "mmlu-pro", "category", prior="leaderboard").result
    return r.pick, r.evaluations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args()
    import ray

    from llm_spider import api

    rows = []

    def evaluate(executor: str, threads: int, actors: int) -> dict:
        out = Path(tempfile.mkdtemp(prefix="ray-scaling-"))
        start = time.perf_counter()
        (row,), _ = api.evaluate("local", [TASK], models=MODEL, threads=threads, max_items=ITEMS, output=out,
                                 reuse_shipped=False, executor=executor, ray_actors=actors)
        seconds = time.perf_counter() - start
        return {"part": "evaluate", "run": f"{executor}, {actors} actor(s) × {threads} thread(s)"
                if executor == "ray" else f"local, {threads} threads", "executor": executor, "actors": actors,
                "threads": threads, "items": row["n_items"], "seconds": seconds, "items_per_second": row["n_items"] / seconds,
                "score": row["score"]}

    rows.append(evaluate("local", 2, 1))
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    rows.append({"part": "ray start", "run": "ray.init(num_cpus=2)", "seconds": time.perf_counter() - start})
    rows.append(evaluate("ray", 2, 1))
    rows.append(evaluate("ray", 1, 2))

    tasks = sorted(api.load_recorded("mmlu-pro").tasks("category"))
    start = time.perf_counter()
    local = [_select_one(t) for t in tasks]
    rows.append({"part": "select", "run": f"local, {len(tasks)} categories one after another",
                 "seconds": time.perf_counter() - start, "tasks": len(tasks)})
    remote_select = ray.remote(num_cpus=1)(_select_one)
    start = time.perf_counter()
    fanned = ray.get([remote_select.remote(t) for t in tasks])
    rows.append({"part": "select", "run": f"ray, {len(tasks)} categories over 2 workers",
                 "seconds": time.perf_counter() - start, "tasks": len(tasks), "same_picks": fanned == local})
    ray.shutdown()

    base = {r["part"]: r["seconds"] for r in rows if r["run"].startswith("local")}
    for r in rows:
        if r["part"] in base:
            r["speed_vs_local"] = base[r["part"]] / r["seconds"]
        for k, v in list(r.items()):
            if isinstance(v, float):
                r[k] = round(v, 4)
        print(f"{r['part']:<9} {r['run']:<42} {r['seconds']:>8.2f} s"
              + (f"   ×{r['speed_vs_local']:.2f} of local" if "speed_vs_local" in r else ""))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
