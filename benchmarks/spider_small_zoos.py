"""The Spider's prior on small zoos: leaderboard mean, similar tasks, or a stack of both.

    python benchmarks/spider_small_zoos.py [--zoos 8] [--regime live,random]

Why this bench: a live zoo has a dozen members and a couple of dozen history tasks, far fewer
than the leaderboard the shipped Spider learns from, and its members' true orders are known only
on those tasks, which are also the benchmark's targets. A design chosen on them would be chosen on
the test. So the design is compared here, on zoos of the same shape cut from the leaderboard table
(real scores of other models): 12 models drawn from a window of models with near-equal means
(``--window``), 19 tasks, every task ranked from the other 18 (leave-one-task-out). Two regimes:
``live``: the live task set's tasks found in the leaderboard (18; the overall mean tends to win);
``random``: 19 tasks drawn per zoo from every leaderboard task with prompts (neighbours tend to win).
Methods: the leaderboard mean, similar tasks (task similarity from the encoder, and mixed with the
tasks' leaderboard profiles, ranking/similarity.py: computed without the zoo's 12 members, so no
member's score on a target is read), the Spider with its default prior (``mean``, with the history
memory), with ``prior="stacked"`` and with ``prior="similar", similarity="mixed"`` (the live zoos'
setting), each trained and untrained (the prior alone).
Prints mean weighted τ per regime and method; writes benchmarks/results/spider_small_zoos.json
(records: regime, zoo, task, method, weighted_tau, top1_accuracy, top1_regret).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).parent / "results" / "spider_small_zoos.json"
SPIDERS = {
    "spider (prior=mean, memory)": {},
    "spider (prior=stacked)": {"prior": "stacked", "memory": False},
    "stacked prior, untrained": {"prior": "stacked", "memory": False, "epochs": 0},
    "spider (prior=similar, mixed similarity)": {"prior": "similar", "similarity": "mixed", "memory": False},
    "similar prior (mixed), untrained": {"prior": "similar", "similarity": "mixed", "memory": False, "epochs": 0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zoos", type=int, default=8, help="zoos per regime")
    parser.add_argument("--regime", default="live,random", help="comma-separated: live, random")
    parser.add_argument("--members", type=int, default=12)
    parser.add_argument("--window", type=int, default=0, help="models (by mean) to draw members from; "
                        "0: 13 for live, 20 for random")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    from rich.progress import track

    from llm_spider.api import encode_tasks, task_encoder
    from llm_spider.baselines import LeaderboardRanker, SimilarTasksRanker
    from llm_spider.metrics import top1_regret, weighted_tau
    from llm_spider.output import RichProgress
    from llm_spider.ranking.base import TaskView
    from llm_spider.ranking.spider import SpiderRanker
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo import History
    from llm_spider.zoo.evaluate import LIVE_TASK_SET

    board = History.from_leaderboard()
    known = [t for t in board.tasks if t in REGISTRY]
    tokens = encode_tasks([REGISTRY.get(t) for t in known], task_encoder(32, 0, None), RichProgress())
    records = []
    for regime in args.regime.split(","):
        rng = np.random.default_rng(args.seed)
        window = args.window or {"live": 13, "random": 20}[regime]
        for z in track(range(args.zoos), description=f"{regime} zoos"):
            tasks = [t for t in LIVE_TASK_SET if t in known] if regime == "live" else \
                list(rng.choice(known, 19, replace=False))
            wide = board.wide()[tasks].dropna()
            means = wide.mean(axis=1).sort_values()
            start = int(rng.integers(0, len(means) - window))
            members = list(rng.choice(means.index[start:start + window], args.members, replace=False))
            wide = wide.loc[members]
            zoo = History.from_wide(wide, f"{regime}-{z}")
            for target in tasks:
                train = zoo.drop_tasks([target])
                seen = {t: tokens[t] for t in train.tasks}
                view = TaskView(target, tokens[target], exclude=(target,))
                preds = {"leaderboard": LeaderboardRanker().fit(train).predict(view),
                         "similar-tasks": SimilarTasksRanker().fit(train, seen).predict(view),
                         "similar-tasks (mixed similarity)":
                             SimilarTasksRanker(similarity="mixed").fit(train, seen).predict(view)}
                for name, params in SPIDERS.items():
                    preds[name] = SpiderRanker(**params).fit(train, seen).predict(view)
                truth = wide[target].to_numpy()
                for name, p in preds.items():
                    p = p.reindex(wide.index).to_numpy()
                    records.append({"regime": regime, "zoo": z, "task": target, "method": name,
                                    "weighted_tau": weighted_tau(truth, p), "top1_accuracy": float(truth[np.argmax(p)]),
                                    "top1_regret": top1_regret(truth, p)})
    df = pd.DataFrame(records)
    table = df.pivot_table(index="method", columns="regime", values="weighted_tau", sort=False)
    print(f"\nmean weighted τ ({args.zoos} zoos of {args.members} per regime, leave-one-task-out)\n"
          + table.round(4).to_string())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(records, indent=1) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
