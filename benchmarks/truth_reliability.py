"""How much of a live zoo's ground truth is signal, and would the live benchmark's verdict survive another draw of items?

    python benchmarks/truth_reliability.py                  # local and multisource zoos
    python benchmarks/truth_reliability.py --zoo multisource --draws 2000

Two parts, no model run (everything is read from the zoos' stored per-item results and the live
benchmark's record files):

1. Per task (`llm-spider zoo truth --reliability`): weighted τ between the members' accuracies on
   two random halves of the items, and the items a paired test needs to separate the two best members.
2. For every method of `live_zoo*.json`: its mean weighted τ and top-1 accuracy re-scored against
   bootstrap resamples of every target's items (the predicted orders stay as recorded). The share
   of draws in which the Spider's re-rank leads each baseline says how much of the recorded
   verdict is the luck of which questions the tasks happen to contain.

Writes benchmarks/results/truth_reliability.json and the figure truth_reliability.png beside it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).parent / "results"
SPIDERS = ("spider+rerank", "spider+evidence")
BASELINES = ("leaderboard", "similar-tasks", "self-assessed (probe confidence)", "self-assessed (verbal)")
METRICS = ("weighted_tau", "top1_accuracy")


def record_file(zoo: str) -> Path:
    return RESULTS / ("live_zoo.json" if zoo == "local" else f"live_zoo_{zoo}.json")


def rescore(records: list[dict], items, history, draws: int, seed: int):
    """Per method: draws × {τ, top-1} means over the record file's targets, truth resampled by item."""
    import numpy as np

    from llm_spider.metrics import weighted_tau
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.reliability import correctness, resampled_truths

    rng = np.random.default_rng(seed)
    items = correctness(items)  # once, not once per target
    methods = sorted({r["method"] for r in records if not r["method"].startswith("brute force")})
    by_task: dict[str, dict[str, list[str]]] = {}
    for r in records:
        if r["method"] in methods:
            by_task.setdefault(r["task"], {})[r["method"]] = r["order"].split(" > ")
    per_target: dict[str, list[np.ndarray]] = {m: [] for m in methods}  # each: draws × (τ, top-1)
    for task, orders in by_task.items():
        members = next(iter(orders.values()))
        truths = resampled_truths(items, REGISTRY.get(task).components, sorted(members), draws, rng)
        col = {m: i for i, m in enumerate(sorted(members))}
        for method, order in orders.items():
            pred = np.zeros(len(col))
            for rank, m in enumerate(order):
                pred[col[m]] = len(order) - rank
            per_target[method].append(np.column_stack([[weighted_tau(t, pred) for t in truths],
                                                       truths[:, col[order[0]]]]))
    # τ is undefined for a draw in which every member scores the same: that target sits that draw out
    return {m: np.nanmean(np.stack(v), axis=0) for m, v in per_target.items()}, len(by_task)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zoo", default="local,multisource", help="comma-separated zoos")
    ap.add_argument("--draws", type=int, default=1000, help="bootstrap resamples of the targets' items")
    ap.add_argument("--splits", type=int, default=200, help="random half-splits per task")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", type=Path, default=RESULTS / "truth_reliability.json")
    args = ap.parse_args()

    import numpy as np
    import pandas as pd
    from rich.console import Console

    from llm_spider.benchmark.live import local_results
    from llm_spider.output import Format, emit
    from llm_spider.writing import write_json_atomic
    from llm_spider.zoo.local import load_zoo
    from llm_spider.zoo.reliability import truth_reliability

    console = Console(stderr=True)
    out, rows = [], []
    for zoo_name in args.zoo.split(","):
        zoo = load_zoo(zoo_name)
        history, items = local_results(None, zoo.results_dir)
        per_task, summary = truth_reliability(items, history.models, splits=args.splits, seed=args.seed)
        entry = {"zoo": zoo.name, "reliability": summary.as_dict(),
                 "tasks": json.loads(per_task.to_json(orient="records"))}
        rows.append({"zoo": zoo.name, "what": "truth", **entry["reliability"]})
        path = record_file(zoo.name)
        if path.is_file():
            records = json.loads(path.read_text())
            with console.status(f"{zoo.name}: re-scoring {path.name} on {args.draws} item resamples"):
                scores, targets = rescore(records, items, history, args.draws, args.seed)
            recorded = pd.DataFrame(records).groupby("method")[list(METRICS)].mean()
            methods = []
            for m, s in scores.items():
                methods.append({"method": m, "targets": targets,
                                **{f"{k}_recorded": float(recorded.loc[m, k]) for k in METRICS},
                                **{f"{k}_ci95": [float(np.percentile(s[:, j], 2.5)), float(np.percentile(s[:, j], 97.5))]
                                   for j, k in enumerate(METRICS)}})
            verdicts = []
            for sp in [m for m in SPIDERS if m in scores]:
                beats_all = np.ones(args.draws, bool)
                for b in [b for b in BASELINES if b in scores]:
                    for j, k in enumerate(METRICS):
                        ahead = scores[sp][:, j] > scores[b][:, j]
                        beats_all &= ahead
                        verdicts.append({"method": sp, "against": b, "metric": k,
                                         "recorded_difference": float(recorded.loc[sp, k] - recorded.loc[b, k]),
                                         "share_of_draws_ahead": float(ahead.mean())})
                verdicts.append({"method": sp, "against": "all baselines", "metric": "both",
                                 "recorded_difference": None, "share_of_draws_ahead": float(beats_all.mean())})
            entry.update(record_file=path.name, draws=args.draws, methods=methods, verdicts=verdicts)
            shown = pd.DataFrame(methods)
            for k in METRICS:
                shown[f"{k}_ci95"] = [f"{lo:.3f} to {hi:.3f}" for lo, hi in shown[f"{k}_ci95"]]
            emit(shown, Format.table,
                 title=f"{zoo.name}: mean over {targets} targets, recorded and 95 % range over item resamples")
            emit(pd.DataFrame(verdicts), Format.table,
                 title=f"{zoo.name}: share of {args.draws} item resamples in which the Spider leads")
        out.append(entry)
    emit(pd.DataFrame(rows), Format.table, title="reproducibility of the ground truth's order of members")
    write_json_atomic(args.output, out)
    plot_reliability(out, args.output.with_suffix(".png"))
    console.print(f"wrote {args.output} and {args.output.with_suffix('.png').name}")


def plot_reliability(out: list[dict], path: Path) -> None:
    """Per task: split-half τ of the members' order, and the task's size against the items needed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for entry, colour in zip(out, ("tab:blue", "tab:orange", "tab:green")):
        tasks = sorted(entry["tasks"], key=lambda t: t["split_half_tau"])
        axes[0].plot(range(len(tasks)), [t["split_half_tau"] for t in tasks], "o-", color=colour,
                     label=f"{entry['zoo']} ({entry['reliability']['members']} members)")
        needed = np.array([t["items_needed"] if t["items_needed"] is not None else np.inf for t in entry["tasks"]])
        shown = np.where(np.isfinite(needed), needed, 1e7)  # a tie: drawn at the top edge
        axes[1].scatter([t["items"] for t in entry["tasks"]], shown, color=colour, label=entry["zoo"])
    axes[0].axhline(0, color="grey", lw=0.8)
    axes[0].set_xlabel("tasks, sorted")
    axes[0].set_ylabel("weighted τ between two random halves of the items")
    axes[0].legend(fontsize=8)
    axes[1].plot([50, 3000], [50, 3000], color="grey", lw=0.8, ls="--")
    axes[1].set_xlim(50, 3000)
    axes[1].text(400, 80, "below the line:\nthe task settles its winner", fontsize=8, color="grey")
    axes[1].set_xscale("log"), axes[1].set_yscale("log")
    axes[1].set_xlabel("items in the task")
    axes[1].set_ylabel("items needed to separate its two best members\n(ties at the top edge)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
