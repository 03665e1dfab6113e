"""`select` as a library call: the best member of a recorded zoo for one of its tasks, to a stated
confidence, with a prior from the history (the zoo's other tasks) and adaptive evaluation."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.progress import SILENT, Progress


@dataclass
class SelectResult:
    result: object  # selection.AdaptiveResult
    prior: str
    prior_strength: float
    truth: pd.Series | None  # the task's recorded accuracies, shown beside (never used to select)


def select(task: str, zoo: str = "mmlu-pro", level: str | None = None, prior: str = "leaderboard",
           prior_strength: float | None = None, epsilon: float = 0.02, confidence: float = 0.95,
           budget: int | None = None, budget_share: float | None = None, members: list[str] | None = None,
           seed: int = 0, progress: Progress = SILENT) -> SelectResult:
    """Select on recorded zoo ``zoo`` for its task ``task`` (at ``level``). The prior comes from the
    zoo's other tasks only; its strength, unless given, is calibrated on them (selection/prior.py)."""
    from llm_spider.selection import RecordedEvaluator, select_adaptive
    from llm_spider.selection.prior import (
        PRIORS,
        calibrate,
        leaderboard_prior,
    )
    from llm_spider.zoo.recorded import load_recorded

    if prior not in PRIORS:
        raise SpiderError(f"prior must be one of {', '.join(PRIORS)}, got {prior!r}")
    if budget is not None and budget_share is not None:
        raise SpiderError("give --budget or --budget-share, not both")
    z = load_recorded(zoo)
    evaluator = RecordedEvaluator(z, level)
    evaluator.items(task)  # an unknown task fails here, with the closest names
    history = z.history(level)
    candidates = members or z.members
    unknown = [m for m in candidates if m not in z.members]
    if unknown:
        raise SpiderError(f"not a member of '{zoo}': {', '.join(unknown)}")
    others = history.drop_tasks([task])
    mean, strength, shift_var = None, 0.0, None
    if prior == "leaderboard":
        mean = leaderboard_prior(others, task)
        cal = calibrate(others)
        strength, shift_var = cal.strength if prior_strength is None else prior_strength, cal.shift_var
        progress.note(f"prior: each member's mean accuracy over the other {len(others.tasks)} tasks, worth "
                      f"{strength:.1f} items" + (" (calibrated on them)" if prior_strength is None else "")
                      + f" beside the task's common shift (sd {shift_var ** 0.5:.3f} before any item)")
    if budget_share is not None:
        budget = int(budget_share * len(candidates) * len(evaluator.items(task)))
    result = select_adaptive(evaluator, task, candidates, mean, strength, shift_var, epsilon=epsilon,
                             confidence=confidence, budget=budget, seed=seed)
    truth = history.wide()[task] if task in history.tasks else None
    return SelectResult(result, prior, strength, truth)
