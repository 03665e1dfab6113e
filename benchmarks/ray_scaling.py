"""Ray against the local executor on this machine: scoring throughput with 1 and 2 actors, and
recorded-zoo `select` over every MMLU-Pro category fanned out over Ray workers.

    python benchmarks/ray_scaling.py        # needs llm-spider[ray,local]; ~10 min on 2 cores

Part 1 evaluates SmolLM2-135M on the same 80 items of mmlu_high_school_european_history (long
prompts, so scoring dominates) three ways:
- locally with 2 torch threads;
- on a Ray cluster started in-process with 1 actor of 2 threads;
- with 2 actors of 1 thread each.
Every run starts from an empty results folder and reuses nothing. Model loading is part of each
run's time; Ray's own start-up is timed apart.
Part 2 runs `select` (leaderboard prior) on each of the 14 categories, one after another in this
process, then as Ray tasks on 2 workers.
Part 3 is `select` with batches in flight. On the recorded zoo (14 categories × 3 seeds, the
leaderboard prior calibrated on the other categories) it replays 1, 2, 4 and 8 batches in flight:
the items spent, how often the pick is within 0.02 of the best, and the wall time in batch-times
of a cluster with one actor per batch in flight, each batch taking as long as its items, ending in
the order asked. Live, SmolLM2, Gemma-3 and Qwen2.5-Coder-0.5B select on 48 items of arc_easy
through Ray actors of 1 thread, 1 and 2 batches in flight, each from an empty results folder.
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
LIVE_MEMBERS, LIVE_TASK, LIVE_BUDGET = ["smollm2-135m-instruct", "gemma3-270m", "qwen2.5-coder-0.5b-instruct"], "arc_easy", 48
SLOTS, SEEDS = (1, 2, 4, 8), (0, 1, 2)


def _select_one(task: str) -> tuple[str, int]:
    from llm_spider import api

    r = api.select(task, "mmlu-pro", "category", prior="leaderboard").result
    return r.pick, r.evaluations


def _makespan(events: list[tuple], slots: int) -> float:
    """Wall time, in items, of the asks and waits a selection made, on ``slots`` actors: a batch
    starts when asked (a slot is free then, since no more than ``slots`` are in flight) and lasts as
    many time units as it has items; waiting for it moves the clock to its end."""
    clock, ends = 0.0, {}
    for kind, key, k in events:
        if kind == "ask":
            ends[key] = clock + k
        else:
            clock = max(clock, ends[key])
    return clock


def replay_in_flight() -> list[dict]:
    """Recorded-zoo select at 1, 2, 4 and 8 batches in flight (see the module docstring)."""
    from concurrent.futures import Future

    import numpy as np

    from llm_spider import api
    from llm_spider.selection import RecordedEvaluator, select_adaptive
    from llm_spider.selection.benchmark import member_sets
    from llm_spider.selection.prior import calibrate, estimate

    class Logged(Future):
        def __init__(self, events: list, key: int):
            super().__init__()
            self.events, self.key = events, key

        def result(self, timeout=None):
            self.events.append(("wait", self.key, 0))
            return super().result(timeout)

    class Replay(RecordedEvaluator):
        def __init__(self, zoo, level):
            super().__init__(zoo, level)
            self.events: list[tuple] = []

        def _start(self, model, task, ids):
            fut = Logged(self.events, len(self.events))
            self.events.append(("ask", fut.key, len(ids)))
            fut.set_result(self._outcomes(model, task, ids))
            return fut

    z = api.load_recorded("mmlu-pro")
    rows = []
    for members in ("all", "open"):
        (candidates,) = member_sets(z.members, members)
        history = z.history("category")  # the prior from every member, as `benchmark select` does
        wide = history.wide().reindex(candidates)
        runs: dict[int, list] = {k: [] for k in SLOTS}
        for task in sorted(z.tasks("category")):
            others = history.drop_tasks([task])
            cal, prior = calibrate(others, "leaderboard", None), estimate("leaderboard", others, task, None)
            truth = wide[task].dropna()  # members with a recorded accuracy on it, as `benchmark select`
            for seed in SEEDS:
                for k in SLOTS:
                    ev = Replay(z, "category")
                    r = select_adaptive(ev, task, list(truth.index), prior, cal.strength, cal.shift_var, cal.outlier_share,
                                        seed=seed, in_flight=k)
                    runs[k].append((r.evaluations, truth.max() - truth[r.pick], _makespan(ev.events, k) / 4))
        for k, got in runs.items():
            spent, regret, wall = (np.array(x, dtype=float) for x in zip(*got))
            rows.append({"part": "select in flight (replay)", "run": f"mmlu-pro {members}, {k} batch(es) in flight",
                         "members": members, "in_flight": k, "runs": len(got), "evaluations": float(spent.mean()),
                         "within_0.02": float(np.mean(regret <= 0.02)), "regret": float(regret.mean()),
                         "batch_times": float(wall.mean())})
    return rows


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
    for k in (1, 2):
        out = Path(tempfile.mkdtemp(prefix="ray-select-"))
        start = time.perf_counter()
        res = api.select(LIVE_TASK, "local", prior="leaderboard", budget=LIVE_BUDGET, members=LIVE_MEMBERS, threads=1,
                         results=out, executor="ray", ray_actors=1, in_flight=k)
        rows.append({"part": "select live", "run": f"ray, {len(LIVE_MEMBERS)} members, {k} batch(es) in flight",
                     "in_flight": k, "seconds": time.perf_counter() - start, "evaluations": res.result.evaluations,
                     "forward_passes": res.forward_passes, "pick": res.result.pick,
                     "evaluated": res.result.evaluated.to_dict()})
    ray.shutdown()
    rows += replay_in_flight()

    base = {r["part"]: r["seconds"] for r in rows if r["run"].startswith("local")}
    base["select live"] = next(r["seconds"] for r in rows if r.get("in_flight") == 1 and r["part"] == "select live")
    for r in rows:
        if r["part"] in base:
            r["speed_vs_local" if r["part"] != "select live" else "speed_vs_one_in_flight"] = base[r["part"]] / r["seconds"]
        for k, v in list(r.items()):
            if isinstance(v, float):
                r[k] = round(v, 4)
        if "seconds" in r:
            print(f"{r['part']:<11} {r['run']:<46} {r['seconds']:>8.2f} s"
                  + (f"   ×{r['speed_vs_local']:.2f} of local" if "speed_vs_local" in r else "")
                  + (f"   ×{r['speed_vs_one_in_flight']:.2f} of 1 in flight" if "speed_vs_one_in_flight" in r else ""))
        else:
            print(f"{'replay':<11} {r['run']:<46} {r['evaluations']:>7.1f} items, within 0.02 {r['within_0.02']:.3f}, "
                  f"{r['batch_times']:.1f} batch-times")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
