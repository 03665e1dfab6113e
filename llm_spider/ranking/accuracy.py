"""From a ranker's scores to accuracy on the target task, with an interval, learnt on the history.

Why: a ranker orders models in units of its own (the Spider's are standardised across the zoo), and
a user reads accuracy. For a new task two things are unknown: how hard it is (its level: the zoo's
mean accuracy and spread on it) and where each model sits in that spread. The level is read from the
``K_SIMILAR`` history tasks whose prompts are nearest (all history tasks when the ranker has no
task tokens); the position from the ranker's scores standardised across the zoo. One linear map,

    accuracy = level_mean + level_sd · (a + b · z),

is fitted on held-out predictions of the history (each history task predicted without its own
scores), and the interval holds the middle ``COVERAGE`` of those held-out errors, in accuracy.
How often it holds the truth on tasks outside the history is measured by
benchmarks/rank_accuracy.py, not assumed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError

K_SIMILAR = 5  # history tasks a target's level is read from
COVERAGE = 0.9  # the interval's nominal share (5 % to 95 % of the held-out errors)


def standardised(scores: pd.Series) -> pd.Series:
    """A ranker's scores as z-scores across the models it scored (NaN stays NaN)."""
    ok = scores.dropna()
    sd = ok.std(ddof=0) if len(ok) > 1 else 0.0
    return (scores - ok.mean()) / (sd if sd > 1e-12 else 1.0)


class Levels:
    """The zoo's mean accuracy and spread on a task, estimated from similar history tasks.

    ``scores``: models × history tasks (NaN: unscored); ``centroids``: one unit vector per history
    task, or None (then every task counts alike)."""

    def __init__(self, tasks: Sequence[str], scores: np.ndarray, centroids: np.ndarray | None = None):
        self.tasks = list(tasks)
        with np.errstate(invalid="ignore"):
            self.means = np.nanmean(scores, axis=0)
            self.sds = np.nanstd(scores, axis=0)
        self.centroids = centroids

    def level(self, centroid: np.ndarray | None = None, exclude: Sequence[str] = ()) -> tuple[float, float]:
        """(mean, sd) for a task with prompt centroid ``centroid``, never reading the tasks in ``exclude``."""
        allowed = ~np.isin(self.tasks, list(exclude)) & np.isfinite(self.means)
        if not allowed.any():
            raise SpiderError("no history task left to read the target's accuracy level from")
        if centroid is not None and self.centroids is not None:
            sims = np.where(allowed, self.centroids @ centroid, -np.inf)
            chosen = np.argsort(-sims, kind="stable")[:min(K_SIMILAR, int(allowed.sum()))]
        else:
            chosen = np.flatnonzero(allowed)
        return float(self.means[chosen].mean()), float(self.sds[chosen].mean())


@dataclass(frozen=True)
class AccuracyMap:
    """``accuracy = mean + sd · (intercept + slope · z)`` with the held-out errors' quantiles
    ``low``/``high`` around it; ``tasks`` history tasks fitted it, with mean absolute error ``mae``
    and ``coverage`` the share of held-out truths inside the interval; predictions stay within
    ``floor``..``ceiling`` (the history's range)."""

    intercept: float
    slope: float
    low: float
    high: float
    tasks: int
    mae: float
    coverage: float
    floor: float
    ceiling: float

    @classmethod
    def fit(cls, z: Mapping[str, pd.Series], truth: pd.DataFrame, levels: Mapping[str, tuple[float, float]],
            nominal: float = COVERAGE) -> AccuracyMap:
        """From each history task's standardised held-out predictions ``z[task]``, its ``truth``
        column (models × tasks) and its estimated ``levels[task]`` (mean, sd)."""
        rows = []
        for task, zs in z.items():
            both = pd.concat([zs.rename("z"), truth[task].rename("y")], axis=1, join="inner").dropna()
            mean, sd = levels[task]
            rows += [(zi, yi, mean, sd) for zi, yi in zip(both["z"], both["y"])]
        if len(z) < 3 or len(rows) < 6:
            raise SpiderError("too few history tasks to learn how scores map to accuracy (need 3)")
        zs, ys, means, sds = map(np.asarray, zip(*rows))
        sds = np.where(sds > 1e-8, sds, 1.0)
        slope, intercept = np.polyfit(zs, (ys - means) / sds, 1)
        err = ys - (means + sds * (intercept + slope * zs))
        tail = (1 - nominal) / 2
        low, high = np.quantile(err, [tail, 1 - tail])
        return cls(float(intercept), float(slope), float(low), float(high), len(z), float(np.abs(err).mean()),
                   float(np.mean((err >= low) & (err <= high))), float(np.nanmin(ys)), float(np.nanmax(ys)))

    def predict(self, z: pd.Series, mean: float, sd: float) -> pd.DataFrame:
        """predicted_accuracy, accuracy_low, accuracy_high per model of ``z``."""
        centre = mean + sd * (self.intercept + self.slope * z.to_numpy(dtype=float))
        clip = lambda x: np.clip(x, self.floor, self.ceiling)  # noqa: E731
        return pd.DataFrame({"predicted_accuracy": clip(centre), "accuracy_low": clip(centre + self.low),
                             "accuracy_high": clip(centre + self.high)}, index=z.index)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping | None) -> AccuracyMap | None:
        return cls(**{k: float(d[k]) if k != "tasks" else int(d[k]) for k in cls.__dataclass_fields__}) if d else None


def fit_accuracy(ranker, history, tokens: Mapping[str, np.ndarray] | None) -> AccuracyMap:
    """The map of a ``ranker`` fitted on ``history``, from its held-out predictions of the history's
    tasks, each task's level read from the others."""
    tokens = dict(tokens or {}) if ranker.needs_task_tokens else {}
    held_out = ranker.held_out_predictions(history, tokens)
    wide = history.wide()
    z = {t: standardised(p) for t, p in held_out.items() if p.notna().sum() >= 2 and t in wide}
    levels, centroid = history_levels(history, tokens), centroids_of(tokens)
    return AccuracyMap.fit(z, wide, {t: levels.level(centroid.get(t), exclude=(t,)) for t in z})


def centroids_of(tokens: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each task's unit-norm mean prompt embedding (the similarity the levels are read by)."""
    from llm_spider.ranking.similarity import task_centroid

    return {t: task_centroid(v).astype(np.float32) for t, v in tokens.items()}


def history_levels(history, tokens: Mapping[str, np.ndarray] | None) -> Levels:
    """Levels over a history's tasks, compared by prompt where every task has tokens."""
    wide = history.wide()
    cents = centroids_of(tokens or {})
    tasks = [t for t in wide.columns if t in cents] if cents else list(wide.columns)
    return Levels(tasks, wide[tasks].to_numpy(dtype=float), np.stack([cents[t] for t in tasks]) if cents else None)
