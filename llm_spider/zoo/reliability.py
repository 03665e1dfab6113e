"""How much of a zoo's ground-truth ranking is signal, and how much is the luck of which items a task has.

A ranker is scored by weighted τ against the members' accuracies on a task. When the members differ
by less than the sampling error of those accuracies, the "true" order is itself mostly noise, and no
method, however good, can agree with it much; differences between methods then say little. This
check measures that from the per-item results that `evaluate` stores:

- ``split_half_tau``: weighted τ between the members' accuracies on two random halves of the task's
  items (mean over splits). Near 1: the order is a property of the task; near 0: of the item draw.
- ``bootstrap_tau``: weighted τ between the accuracies on all items and on a bootstrap resample of
  them: how far the order moves with another draw of as many items (higher than the split-half τ,
  since a resample shares about 63 % of its items with the whole and each half is half as large).
- ``items_needed``: how many items a paired comparison needs to tell the task's two best members
  apart (two-sided 5 %, power 80 %): ``(1.96 + 0.84)² · var(d) / gap²`` with ``d`` the per-item
  difference of their correctness. Above ``items`` means the task is too small to settle even its
  own winner; a re-ranker that may run a few percent of the items cannot do better. ∞ when the two
  tie (null in JSON).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.metrics import weighted_tau
from llm_spider.tasks.scoring import chosen_option

Z_POWER = (1.96 + 0.84) ** 2  # two-sided α = 0.05, power 0.8


def halves_agree(tau: float) -> str:
    """How two halves of a task's items agree on the members' order, in words a reader can trust:
    "alike" only where they are (a negative τ is an order the halves contradict)."""
    if not tau == tau:  # NaN: too few members or items to tell
        return "cannot be compared (too few items or members)"
    word = ("order the members alike" if tau >= 0.7 else "order the members partly alike" if tau >= 0.3 else
            "barely agree on the members' order" if tau >= 0 else "order the members in contradiction")
    return f"{word} (weighted τ {tau:.2f} between them)"


def correctness(items: pd.DataFrame) -> pd.DataFrame:
    """(model, task, item, correct) from `evaluate`'s item rows: correct = the argmax option is the answer.
    Rows that already carry ``correct`` pass through, so callers can convert a large table once."""
    if {"model", "task", "item", "correct"} <= set(items.columns):
        return items[["model", "task", "item", "correct"]]
    need = {"model", "task", "item", "answer", "logprobs"}
    if not need <= set(items.columns):
        raise SpiderError(f"per-item results need the columns {sorted(need)}, got {sorted(items.columns)}")
    out = items[["model", "task", "item"]].copy()
    out["correct"] = [int(chosen_option(lp) == int(a)) for lp, a in zip(items["logprobs"], items["answer"])]
    return out


@dataclass
class Reliability:
    tasks: int
    members: int
    mean_split_half_tau: float
    mean_bootstrap_tau: float
    tasks_split_half_below_half: int  # tasks whose two halves agree at τ < 0.5
    median_items_needed: float
    tasks_winner_unsettled: int  # tasks whose own items are too few to separate its two best members
    mean_top2_gap: float

    def as_dict(self) -> dict:
        return asdict(self)


def _mean(taus: list[float]) -> float:
    """Mean over the splits where τ is defined (it is not when every member scores the same)."""
    v = np.asarray(taus, dtype=float)
    return float(v[np.isfinite(v)].mean()) if np.isfinite(v).any() else float("nan")


def _task_reliability(m: np.ndarray, splits: int, rng: np.random.Generator) -> dict:
    """``m``: items × members 0/1 correctness of one task, every member on every item."""
    n = m.shape[0]
    acc = m.mean(axis=0)
    halves, boots = [], []
    for _ in range(splits):
        perm = rng.permutation(n)
        halves.append(weighted_tau(m[perm[: n // 2]].mean(axis=0), m[perm[n // 2:]].mean(axis=0)))
        boots.append(weighted_tau(acc, m[rng.integers(0, n, n)].mean(axis=0)))
    order = np.argsort(-acc, kind="stable")
    first, second = order[0], order[1]
    gap = float(acc[first] - acc[second])
    var_d = float(np.var(m[:, first] - m[:, second], ddof=1)) if n > 1 else 0.0
    needed = float("inf") if gap <= 0 else Z_POWER * var_d / gap**2
    return {"items": n, "top2_gap": gap, "member_sd": float(acc.std()),
            "split_half_tau": _mean(halves), "bootstrap_tau": _mean(boots),
            "items_needed": needed, "winner_settled": bool(needed <= n)}


def truth_reliability(items: pd.DataFrame, models: list[str] | None = None, splits: int = 200, seed: int = 0
                      ) -> tuple[pd.DataFrame, Reliability]:
    """Per task (``items``: `evaluate`'s per-item rows), how reproducible the members' order is; and the summary.

    Only items that every member answered count, so that all accuracies are on the same questions.
    """
    if splits < 1:
        raise SpiderError("splits must be at least 1")
    c = correctness(items)
    if models is not None:
        c = c[c["model"].isin(models)]
    rng = np.random.default_rng(seed)
    rows = []
    for task, g in c.groupby("task", sort=True):
        wide = g.pivot_table(index="item", columns="model", values="correct", aggfunc="last").dropna(axis=0)
        if wide.shape[1] < 2 or wide.shape[0] < 4:
            continue
        rows.append({"task": task, "members": wide.shape[1], **_task_reliability(wide.to_numpy(float), splits, rng)})
    if not rows:
        raise SpiderError("a reliability check needs per-item results of at least two members on a task "
                          "(4 items or more): run `llm-spider evaluate` first")
    per_task = pd.DataFrame(rows)
    summary = Reliability(
        tasks=len(per_task), members=int(per_task["members"].max()),
        mean_split_half_tau=float(per_task["split_half_tau"].mean()),
        mean_bootstrap_tau=float(per_task["bootstrap_tau"].mean()),
        tasks_split_half_below_half=int((per_task["split_half_tau"] < 0.5).sum()),
        median_items_needed=float(np.median(per_task["items_needed"])),  # a tie (gap 0) counts as ∞
        tasks_winner_unsettled=int((~per_task["winner_settled"]).sum()),
        mean_top2_gap=float(per_task["top2_gap"].mean()))
    return per_task, summary


def resampled_truths(items: pd.DataFrame, components: dict[str, float], members: list[str], draws: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``draws`` × members accuracies on a (possibly composite) task, each draw from a bootstrap
    resample of every component's items: what the ground truth might have been with another draw of
    equally many questions. Composite weights as in `History.task_scores`."""
    c = correctness(items)
    total = np.zeros((draws, len(members)))
    weight = 0.0
    for task, w in components.items():
        wide = (c[c["task"] == task].pivot_table(index="item", columns="model", values="correct", aggfunc="last")
                .reindex(columns=members).dropna(axis=0))
        if wide.empty:
            raise SpiderError(f"no per-item results of every member on '{task}'")
        m = wide.to_numpy(float)
        idx = rng.integers(0, len(m), (draws, len(m)))
        total += w * m[idx].mean(axis=1)
        weight += w
    return total / weight


def reliability_note(items: pd.DataFrame, tasks: list[str], members: list[str], splits: int = 50) -> str | None:
    """One sentence for `compare`: on how many of the tasks its truth cannot settle the winner, so
    that a user reads small differences between rankers as what they are. None without item data."""
    sub = items[items["task"].isin(tasks) & items["model"].isin(members)]
    if sub.empty:
        return None
    try:
        per_task, r = truth_reliability(sub, members, splits=splits)
    except SpiderError:
        return None
    halves = f"two random halves of the items {halves_agree(r.mean_split_half_tau)}"
    if r.tasks_winner_unsettled == 0:
        return f"ground truth: every task's items settle which of its two best members is better; {halves}."
    return (f"ground truth: on {r.tasks_winner_unsettled} of {r.tasks} task(s) the items cannot settle which of "
            f"the two best members is better (mean gap {r.mean_top2_gap:.3f}), and {halves}: differences "
            "between methods within that noise mean little (`llm-spider zoo truth --reliability`).")
