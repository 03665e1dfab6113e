"""Is a zoo's selection problem worth solving? How often the overall-best member is not the task's best.

A zoo where one member wins every task needs no task-aware ranking: the leaderboard mean already
picks the winner. The check reads a ground-truth table (`evaluate`'s history) and reports, per task,
the best member, the member with the best mean accuracy over all tasks, and the accuracy given up
by always choosing the latter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from llm_spider.errors import SpiderError


def truth_table(history: pd.DataFrame, models: list[str] | None = None) -> pd.DataFrame:
    """Tasks × models accuracy from a long history frame (model, task, score), complete tasks only."""
    wide = history.pivot_table(index="task", columns="model", values="score", aggfunc="last")
    if models is not None:
        missing = [m for m in models if m not in wide.columns]
        if missing:
            raise SpiderError(f"no ground truth for {', '.join(missing)}: run `llm-spider evaluate` for it first")
        wide = wide[models]
    return wide.dropna(axis=0, how="any")


@dataclass
class Diversity:
    tasks: int
    members: int
    overall_best: str
    overall_best_mean: float
    tasks_not_won_by_overall_best: int
    share_not_won: float
    mean_gap_where_not_won: float  # accuracy points lost there by always picking the overall best
    max_gap: float
    distinct_winners: int

    def as_dict(self) -> dict:
        return asdict(self)


def diversity(table: pd.DataFrame) -> tuple[pd.DataFrame, Diversity]:
    """Per-task winners against the best-mean member (``table``: tasks × models), and the summary."""
    if table.shape[0] < 1 or table.shape[1] < 2:
        raise SpiderError("a diversity check needs at least one task and two members with ground truth")
    means = table.mean(axis=0)
    overall = str(means.idxmax())
    rows = []
    for task, acc in table.iterrows():
        best = overall if acc[overall] >= acc.max() else str(acc.idxmax())  # ties: the best-mean, else first
        rows.append({"task": task, "best_model": best, "best_accuracy": float(acc[best]),
                     "overall_best_accuracy": float(acc[overall]), "gap": float(acc[best] - acc[overall]),
                     "overall_best_wins": bool(acc[overall] >= acc[best])})
    per_task = pd.DataFrame(rows)
    lost = per_task[~per_task["overall_best_wins"]]
    summary = Diversity(tasks=len(per_task), members=table.shape[1], overall_best=overall,
                        overall_best_mean=float(means[overall]), tasks_not_won_by_overall_best=len(lost),
                        share_not_won=len(lost) / len(per_task),
                        mean_gap_where_not_won=float(lost["gap"].mean()) if len(lost) else 0.0,
                        max_gap=float(per_task["gap"].max()), distinct_winners=per_task["best_model"].nunique())
    return per_task, summary
