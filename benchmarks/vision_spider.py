"""Issue 24: can the vision Spider rank the zoo ahead of the best transferability estimator?

    python benchmarks/vision_spider.py                     # about 15 min on 2 cores, features cached
    python benchmarks/vision_spider.py --part validation   # only the choice of settings (on history)

Three parts, the eight members:

1. **Settings, chosen on history.** Four Spiders: learning from the first 40 history tasks (as
   shipped before) or all 200, with the PTM-specific tokens' width-free statistics alone or with
   four estimators computed on the probes (vision/tokens.py). Each is scored on ten *validation*
   tasks (history-191..200, never reported as targets), each fitted on the tasks sharing no class
   with it. The best by mean weighted τ there is the default (`DEFAULT_TOKENS`, `N_HISTORY`);
   the named tasks play no part in the choice.
2. **A held-out truth.** Each member's linear head trained on a named task's own images (what
   every method reads) and tested on the rest of a 100-a-class sample of its classes (no method
   reads them), so no method shares the truth's noise; its reliability as in `vision truth
   --reliability`.
3. **The ablation on the named tasks.** The four Spiders, and every method of
   `benchmarks/results/vision.json`, against the shipped truth and the held-out truth: mean
   weighted τ and top-1 regret; each Spider minus the best estimator, paired over tasks (95 %
   bootstrap interval); and, on the held-out truth, the share of its image resamples in which
   the Spider is at least that estimator (is the margin larger than the truth's own noise?); and
   how often each method's pick is in the truth's top set, the members it cannot tell from its
   best (95 % paired bootstrap over the task's images).

Writes benchmarks/results/vision_spider.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))
RESULTS = Path(__file__).parent / "results"
CONFIGS = {  # label: (history tasks learned from, PTM-specific token set)
    "40 history, statistics": (40, "statistics"),
    "40 history, + estimators": (40, "estimators"),
    "200 history, statistics": (200, "statistics"),
    "200 history, + estimators": (200, "estimators"),
}
VALIDATION = [f"history-{i}" for i in range(191, 201)]
HELD_OUT = 100
SPIDERS = ("spider", "spider (no rerank)")


def tau_regret(truth, ranking: list[str]) -> tuple[float, float]:
    import numpy as np

    from llm_spider.metrics import top1_regret, weighted_tau

    score = np.array([len(ranking) - ranking.index(m) for m in truth.index], dtype=float)
    return float(weighted_tau(truth.to_numpy(), score)), float(top1_regret(truth.to_numpy(), score))


def top_sets(items, members: list[str], draws: int = 1000, seed: int = 0) -> dict[str, list[str]]:
    """Per task, the members the truth cannot tell from its best: those whose accuracy gap to the
    best member has a 95 % paired bootstrap interval (over the task's images) that reaches 0."""
    import numpy as np

    rng, out = np.random.default_rng(seed), {}
    for task, g in items.groupby("task"):
        wide = g.pivot(index="item", columns="model", values="correct")[members].to_numpy(float)
        best = int(wide.mean(axis=0).argmax())
        acc = wide[rng.integers(0, len(wide), (draws, len(wide)))].mean(axis=1)  # draws × members
        low = np.quantile(acc[:, [best]] - acc, 0.025, axis=0)
        out[task] = [m for m, lo in zip(members, low) if lo <= 0]
    return out


def run_config(label: str, tasks: list[str], store, truth, members) -> list[dict]:
    from llm_spider.vision.benchmark import VisionBench

    history, tokens = CONFIGS[label]
    bench = VisionBench(store, truth, members, top_k=3, tokens=tokens, history=history)
    out = []
    for t in tasks:
        for r in bench.run(t, methods=SPIDERS):
            out.append({"config": label, **{k: r[k] for k in ("task", "method", "weighted_tau", "top1_regret",
                                                              "images_forwarded", "seconds", "fit_seconds",
                                                              "train_tasks", "ranking")}})
        print(f"  {label:<28} {t:<20} τ {out[-2]['weighted_tau']:+.3f} (no rerank {out[-1]['weighted_tau']:+.3f})  "
              f"{out[-2]['train_tasks']} history tasks, fit {out[-2]['fit_seconds']:.0f}s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=("validation", "all"), default="all")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--output", type=Path, default=RESULTS / "vision_spider.json")
    args = ap.parse_args()
    import numpy as np
    import pandas as pd

    from llm_spider.vision.benchmark import default_targets
    from llm_spider.vision.selector import installed_members
    from llm_spider.vision.tasks import get_spec
    from llm_spider.vision.zoo import FeatureStore, heldout_correctness, image_correctness, read_history
    from llm_spider.zoo.reliability import truth_reliability
    from vision_truth import paired_over_tasks as paired
    from vision_truth import rescore

    start = time.perf_counter()
    members, store, truth = installed_members(None), FeatureStore(), read_history()
    out: dict = {"members": members, "configs": {k: list(v) for k, v in CONFIGS.items()},
                 "validation_tasks": VALIDATION}

    print("1. settings on the validation tasks (history-191..200)", flush=True)
    val = [r for label in CONFIGS for r in run_config(label, VALIDATION, store, truth, members)]
    vdf = pd.DataFrame(val)
    vmean = vdf.groupby(["config", "method"], sort=False)[["weighted_tau", "top1_regret"]].mean()
    chosen = vmean.xs("spider", level="method")["weighted_tau"].idxmax()
    out["validation"] = [{"config": c, "method": m, "weighted_tau": round(v.weighted_tau, 4),
                          "top1_regret": round(v.top1_regret, 4)} for (c, m), v in vmean.iterrows()]
    out["chosen"] = chosen
    print(vmean.round(3).to_string(), f"\nchosen on validation: {chosen}", flush=True)
    if args.part == "validation":
        return

    targets = default_targets()
    print("2. the held-out truth", flush=True)
    specs = [get_spec(t) for t in targets]
    items = heldout_correctness(members, specs, store, HELD_OUT)
    held = items.groupby(["task", "model"])["correct"].mean().unstack()[members]
    per_task, rel = truth_reliability(items, members)
    shipped = truth.pivot(index="task", columns="model", values="score").loc[targets, members]
    out["held_out"] = {"per_class": HELD_OUT, **rel.as_dict(),
                       "images_per_task": items[items["model"] == members[0]].groupby("task").size().to_dict(),
                       "agreement_with_shipped_tau": float(np.mean([tau_regret(held.loc[t], list(
                           shipped.loc[t].sort_values(ascending=False).index))[0] for t in targets]))}
    out["held_out_per_task"] = per_task.to_dict(orient="records")
    print(f"held-out truth: split-half τ {rel.mean_split_half_tau:.3f}, top-2 gap {rel.mean_top2_gap:.4f}, "
          f"winner unsettled on {rel.tasks_winner_unsettled}/{rel.tasks}; shipped order vs held-out τ "
          f"{out['held_out']['agreement_with_shipped_tau']:.3f}", flush=True)

    print("3. the named tasks", flush=True)
    recorded = json.loads((RESULTS / "vision.json").read_text())
    records = [r for r in recorded if r["method"] not in SPIDERS]  # the estimators as last benchmarked
    for label in CONFIGS:
        for r in run_config(label, targets, store, truth, members):
            records.append({**r, "method": f"{r['method']} [{label}]"})
    # the members each truth cannot tell from its best (the shipped truth's per-image outcomes: one 5-fold CV)
    tops = {"shipped": top_sets(image_correctness(members, specs, store), members),
            "held_out": top_sets(items, members)}
    out["top_sets"] = tops
    rows = []
    for r in records:
        tau_s, reg_s = tau_regret(shipped.loc[r["task"]], r["ranking"])
        tau_h, reg_h = tau_regret(held.loc[r["task"]], r["ranking"])
        rows.append({"task": r["task"], "method": r["method"], "tau_shipped": tau_s, "regret_shipped": reg_s,
                     "top_shipped": float(r["ranking"][0] in tops["shipped"][r["task"]]),
                     "tau_held_out": tau_h, "regret_held_out": reg_h,
                     "top_held_out": float(r["ranking"][0] in tops["held_out"][r["task"]]),
                     "images_forwarded": r["images_forwarded"]})
    df = pd.DataFrame(rows)
    summary = df.groupby("method", sort=False).mean(numeric_only=True)
    estimators = [m for m in summary.index if "[" not in m]
    best = {k: summary.loc[estimators, f"tau_{k}"].idxmax() for k in ("shipped", "held_out")}
    draws = rescore([{"task": r["task"], "method": r["method"], "ranking": r["ranking"]} for r in records],
                    items, args.draws, seed=0)
    out["best_estimator"] = best
    out["methods"] = []
    for m, s in summary.sort_values("tau_held_out", ascending=False).iterrows():
        row = {"method": m, **{k: round(float(v), 4) for k, v in s.items()},
               "held_out_resampled": round(float(draws[m].mean()), 4),
               "held_out_low": round(float(np.quantile(draws[m], 0.025)), 4),
               "held_out_high": round(float(np.quantile(draws[m], 0.975)), 4)}
        for k in ("shipped", "held_out"):
            if m != best[k]:
                a = df[df.method == m].set_index("task")[f"tau_{k}"].to_dict()
                b = df[df.method == best[k]].set_index("task")[f"tau_{k}"].to_dict()
                row[f"minus_best_{k}"] = {kk: (round(v, 4) if isinstance(v, float) else v)
                                          for kk, v in paired(a, b).items()}
        row["p_at_least_best_held_out"] = round(float(np.mean(draws[m] >= draws[best["held_out"]])), 4)
        out["methods"].append(row)
        print(f"{m:<42} shipped τ {row['tau_shipped']:.3f} regret {row['regret_shipped']:.3f} | held-out τ "
              f"{row['tau_held_out']:.3f} [{row['held_out_low']:.3f}, {row['held_out_high']:.3f}] regret "
              f"{row['regret_held_out']:.3f} | picks in the top set {row['top_shipped']:.0%} / "
              f"{row['top_held_out']:.0%} | images {row['images_forwarded']:.0f}", flush=True)
    out["history_effect"] = []  # 200 against 40 history tasks, each token set, paired over the named tasks
    for base in SPIDERS:
        for tokens in ("statistics", "+ estimators"):
            for k in ("shipped", "held_out"):
                a, b = (df[df.method == f"{base} [{h} history, {tokens}]"].set_index("task")[f"tau_{k}"].to_dict()
                        for h in (200, 40))
                out["history_effect"].append({"method": base, "tokens": tokens, "truth": k, **paired(a, b)})
                e = out["history_effect"][-1]
                print(f"{base:<20} {tokens:<14} {k:<9} 200 − 40 history: {e['mean_difference']:+.3f} "
                      f"[{e['low']:+.3f}, {e['high']:+.3f}]", flush=True)
    out["per_task"] = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                       for r in df.to_dict(orient="records")]
    out["seconds"] = round(time.perf_counter() - start, 1)
    args.output.write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(f"written to {args.output} ({out['seconds']:.0f}s)")


if __name__ == "__main__":
    main()
