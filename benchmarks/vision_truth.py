"""Can the vision zoo's ground truth order its members, and does the vision benchmark's verdict
survive another draw of images?

    python benchmarks/vision_truth.py           # 22 min on 2 cores (the 100-a-class images extracted once)

Three parts, on the ten named tasks and the eight members (`llm-spider vision truth --reliability`):

1. Reliability of the truth as shipped (the tasks' own images, up to 30 a class, one 5-fold
   cross-validation): per task, weighted τ between the members' accuracies on two random halves of
   the images, and the images a paired test needs to separate the two best members.
2. The same with 5 cross-validations averaged per image (removes the split's luck, not the
   images'), and with up to 100 images a class where the sources have them (one cross-validation).
3. Every method of `benchmarks/results/vision.json` re-scored against bootstrap resamples of each
   target's images (its recorded ranking kept): its mean weighted τ with a 95 % interval, and the
   share of draws in which the Spider is at least the best estimator. The per-task paired
   difference (Spider minus that estimator, bootstrap over tasks) is reported on the recorded truth.

Writes benchmarks/results/vision_truth.json. ``--rescore-only`` redoes part 3 alone (a minute),
keeping parts 1-2, which do not depend on any method: for when vision.json has been re-run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).parent / "results"
SETTINGS = (("shipped: own images, 1 CV", None, 1), ("own images, 5 CVs", None, 5), ("100 a class, 1 CV", 100, 1))
SPIDERS = ("spider", "spider (no rerank)")


def rescore(records: list[dict], items, draws: int, seed: int) -> dict:
    """Per method: draws × mean weighted τ over the recorded targets, truth resampled by image."""
    import numpy as np

    from llm_spider.metrics import weighted_tau
    from llm_spider.zoo.reliability import resampled_truths

    rng = np.random.default_rng(seed)
    members = sorted(set(items["model"]))
    tasks = sorted({r["task"] for r in records})
    truths = {t: resampled_truths(items, {t: 1.0}, members, draws, rng) for t in tasks}
    out: dict[str, np.ndarray] = {}
    for method in dict.fromkeys(r["method"] for r in records):
        per_task = []
        for r in (r for r in records if r["method"] == method):
            ranking = r["ranking"]
            score = np.array([len(ranking) - ranking.index(m) for m in members], dtype=float)
            per_task.append([weighted_tau(truths[r["task"]][d], score) for d in range(draws)])
        out[method] = np.mean(per_task, axis=0)
    return out


def paired_over_tasks(a: dict, b: dict) -> dict:
    """Mean over the tasks both have of a[t] − b[t], with its 95 % bootstrap interval over tasks
    (`metrics.paired_bootstrap`) and the wins, ties and losses."""
    import numpy as np

    from llm_spider.metrics import paired_bootstrap

    tasks = sorted(set(a) & set(b))
    d = np.array([a[t] - b[t] for t in tasks])
    mean, low, high = paired_bootstrap(d)
    return {"tasks": len(tasks), "mean_difference": mean, "low": low, "high": high,
            "wins": int((d > 0).sum()), "ties": int((d == 0).sum()), "losses": int((d < 0).sum())}


def paired(records: list[dict], a: str, b: str) -> dict:
    """Mean per-task τ difference a − b on the recorded truth, with a 95 % bootstrap interval over tasks."""
    tau = {m: {r["task"]: r["weighted_tau"] for r in records if r["method"] == m} for m in (a, b)}
    return {"a": a, "b": b, **paired_over_tasks(tau[a], tau[b])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--output", type=Path, default=RESULTS / "vision_truth.json")
    ap.add_argument("--rescore-only", action="store_true", help="part 3 only; parts 1-2 kept from --output")
    args = ap.parse_args()
    import numpy as np

    from llm_spider.vision.benchmark import default_targets
    from llm_spider.vision.selector import installed_members
    from llm_spider.vision.tasks import get_spec
    from llm_spider.vision.zoo import FeatureStore, image_correctness
    from llm_spider.zoo.reliability import truth_reliability

    members = installed_members(None)
    specs = [get_spec(t) for t in default_targets()]
    store = FeatureStore()
    out = {"members": members, "settings": [], "per_task": [], "rescored": [], "paired": []}
    shipped_items = None
    if args.rescore_only:
        out = {**json.loads(args.output.read_text()), "rescored": [], "paired": []}
        shipped_items = image_correctness(members, specs, store, 1)
    for label, per_class, repeats in [] if args.rescore_only else SETTINGS:
        start = time.perf_counter()
        items = image_correctness(members, specs, store, repeats, per_class=per_class)
        per_task, r = truth_reliability(items, members)
        if per_class is None and repeats == 1:
            shipped_items = items
        out["settings"].append({"setting": label, "per_class": per_class, "repeats": repeats, **r.as_dict(),
                                "seconds": round(time.perf_counter() - start, 1)})
        out["per_task"] += [{"setting": label, **row} for row in per_task.to_dict(orient="records")]
        print(f"{label:<28} split-half τ {r.mean_split_half_tau:.3f}  bootstrap τ {r.mean_bootstrap_tau:.3f}  "
              f"winner unsettled on {r.tasks_winner_unsettled}/{r.tasks}  median images needed "
              f"{r.median_items_needed:,.0f}  mean top-2 gap {r.mean_top2_gap:.4f}", flush=True)

    records = json.loads((RESULTS / "vision.json").read_text())
    scores = rescore(records, shipped_items, args.draws, seed=0)
    recorded = {m: float(np.mean([r["weighted_tau"] for r in records if r["method"] == m])) for m in scores}
    estimators = [m for m in scores if m not in SPIDERS]
    best = max(estimators, key=recorded.get)
    for m, s in sorted(scores.items(), key=lambda kv: -recorded[kv[0]]):
        row = {"method": m, "recorded_tau": recorded[m], "resampled_mean": float(s.mean()),
               "low": float(np.quantile(s, 0.025)), "high": float(np.quantile(s, 0.975))}
        if m in SPIDERS:
            row["p_at_least_best_estimator"] = float(np.mean(s >= scores[best]))
        out["rescored"].append(row)
        print(f"{m:<20} recorded τ {row['recorded_tau']:.3f}  over {args.draws} image resamples "
              f"{row['resampled_mean']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"
              + (f"  P(≥ {best}) {row['p_at_least_best_estimator']:.3f}" if m in SPIDERS else ""))
    for s in SPIDERS:
        out["paired"].append(paired(records, s, best))
        p = out["paired"][-1]
        print(f"{s} − {best}: {p['mean_difference']:+.3f} [{p['low']:+.3f}, {p['high']:+.3f}] over {p['tasks']} tasks "
              f"({p['wins']}/{p['ties']}/{p['losses']} wins/ties/losses)")
    out["best_estimator"] = best

    def clean(v):
        if isinstance(v, float):
            return None if not np.isfinite(v) else round(v, 4)
        return v

    out = {k: ([{kk: clean(vv) for kk, vv in row.items()} for row in v] if isinstance(v, list) and v
               and isinstance(v[0], dict) else v) for k, v in out.items()}
    args.output.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
