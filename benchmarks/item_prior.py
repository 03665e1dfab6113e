"""Item-level models as a prior, one by one, against the task-level priors, on a recorded zoo.

    python benchmarks/item_prior.py [--zoo mmlu-pro] [--level category --level src] [--workers 2]

Every task of the level is left out in turn; each item model (ranking/items/models.py: ``ridge``,
``nearest``, ``irt``, the Spider's network per item ``spider``, and ``mean:ridge+irt``) is fitted
on the other tasks' items and predicts every member's accuracy on the left-out task from its
questions alone; ``leaderboard`` and ``similar-tasks`` are the task-level priors `select` had
before. Each model is fitted at its defaults (``ridge``: penalty 10). The product's ``items`` prior
is ``ridge`` with its penalty chosen on the history (every history task left out in turn); its
records are `benchmark select`'s (benchmarks/results/select_mmlu_pro.json, method ``items``), so
this bench measures the models, not the choice.

Prints, per level, member set (``all``, ``open``) and method: the share of tasks whose top member is
within 0.02 of the best, mean top-1 regret, mean weighted τ, and the paired difference in τ from
similar-tasks with its 95 % bootstrap interval over tasks; writes benchmarks/results/item_prior.json
(``records``: zoo, level, members, method, task, eps_good, top1_regret, weighted_tau, seconds;
``summary``; ``paired``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).parent / "results" / "item_prior.json"
MODELS = ("ridge", "nearest", "irt", "spider", "mean:ridge+irt")
SETS = ("all", "open")


def target(zoo_name: str, level: str, task: str, data, tokens) -> list[dict]:
    """Every method's records on one left-out task."""
    import torch

    from llm_spider.metrics import weighted_tau
    from llm_spider.ranking.items.prior import fit_predict
    from llm_spider.selection.benchmark import member_sets
    from llm_spider.selection.prior import estimate
    from llm_spider.zoo.recorded import load_recorded

    torch.set_num_threads(1)
    zoo = load_recorded(zoo_name)
    history = zoo.history(level)
    others, wide = history.drop_tasks([task]), history.wide()
    est, seconds = {}, {}
    for method in ("leaderboard", "similar-tasks", *MODELS):
        t0 = time.perf_counter()
        if method in MODELS:
            est[method] = fit_predict(method, data, others.tasks, task)
        else:
            est[method] = estimate(method, others, task, tokens)
        seconds[method] = time.perf_counter() - t0
    records = []
    for members in SETS:
        cands = member_sets(zoo.members, members)[0]
        truth = wide[task].reindex(cands).dropna()
        for method, e in est.items():
            scores = e.reindex(truth.index)
            pick = scores.idxmax()
            records.append({"zoo": zoo_name, "level": level, "members": members, "method": method, "task": task,
                            "eps_good": bool(truth[pick] >= truth.max() - 0.02),
                            "top1_regret": float(truth.max() - truth[pick]),
                            "weighted_tau": weighted_tau(truth, scores), "seconds": seconds[method]})
    return records


def summaries(records: list[dict]) -> tuple[list[dict], list[dict]]:
    import pandas as pd

    from llm_spider.metrics import paired_bootstrap

    df = pd.DataFrame(records)
    keys = ["level", "members", "method"]
    summary = (df.assign(eps_good=df["eps_good"].astype(float)).groupby(keys, sort=False)
               [["eps_good", "top1_regret", "weighted_tau", "seconds"]].mean().reset_index()
               .assign(tasks=df.groupby(keys, sort=False).size().to_numpy()))
    paired = []
    for (level, members), group in df.groupby(["level", "members"], sort=False):
        tau = group.pivot(index="task", columns="method", values="weighted_tau")
        for method in [m for m in group["method"].unique() if m != "similar-tasks"]:
            d = (tau[method] - tau["similar-tasks"]).dropna()
            mean, low, high = paired_bootstrap(d.to_numpy())
            paired.append({"level": level, "members": members, "method": method, "tau_difference": mean,
                           "ci95_low": low, "ci95_high": high, "tasks": len(d)})
    return summary.to_dict("records"), paired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zoo", default="mmlu-pro")
    parser.add_argument("--level", action="append")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import pandas as pd

    from llm_spider.api import recorded_items, recorded_tokens
    from llm_spider.output import RichProgress
    from llm_spider.zoo.recorded import load_recorded

    zoo = load_recorded(args.zoo)
    progress = RichProgress()
    start, records = time.perf_counter(), []
    for level in args.level or list(zoo.levels):
        data, tokens = recorded_items(zoo, level, progress), recorded_tokens(zoo, level, progress)
        tasks = list(zoo.history(level).tasks)
        with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(target, args.zoo, level, t, data, tokens) for t in tasks]
            with progress.bar(f"item priors ({level})", len(tasks)) as bar:
                for f in futures:
                    records += f.result()
                    bar.advance()
    summary, paired = summaries(records)
    print(pd.DataFrame(summary).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(pd.DataFrame(paired).to_string(index=False, float_format=lambda v: f"{v:+.4f}"))
    payload = {"zoo": args.zoo, "seconds": time.perf_counter() - start, "workers": args.workers,
               "records": records, "summary": summary, "paired": paired}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
