"""One interface for every ranker, scikit-learn style, so benchmarks loop over them blindly.

``fit(history, tasks)`` learns from the score history (and, for methods that compare tasks, the
history tasks' token sets); ``predict(task)`` scores every model of the fitted zoo for a target
task; ``rank(task)`` orders them; ``score(task, truth)`` is the weighted τ against true scores.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.metrics import weighted_tau
from llm_spider.zoo.history import History


@dataclass
class TaskView:
    """The target task as a ranker sees it: a name and its token sets.

    ``tokens`` are the general task tokens (n_prompts × dim). ``extra_tokens`` are PTM-specific
    tokens per model (features from probe runs), used by re-ranking. ``exclude`` names history tasks
    whose scores a fitted ranker must not look up for this task (the target's own, when hidden).
    """

    name: str
    tokens: np.ndarray | None = None
    extra_tokens: Mapping[str, np.ndarray] | None = field(default=None, repr=False)
    exclude: tuple[str, ...] = ()


@dataclass
class Ranking:
    """Models ordered best first, with the ranker's predicted scores."""

    task: str
    method: str
    scores: pd.Series  # index: model, sorted descending
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # models the method could not score

    def only(self, models: list[str]) -> Ranking:
        """The ranking of ``models`` alone; the note on models left out names only theirs."""
        left = [m for m in self.left_out if m in models]
        notes = [n for n in self.notes if n not in left_out_notes(self.left_out)] + left_out_notes(left)
        return Ranking(self.task, self.method, self.scores[self.scores.index.isin(models)], notes, left)

    @property
    def models(self) -> list[str]:
        return list(self.scores.index)

    def top(self, n: int) -> Ranking:
        return Ranking(self.task, self.method, self.scores.iloc[:n], self.notes, self.left_out)

    def to_frame(self, truth: pd.Series | None = None) -> pd.DataFrame:
        """rank, model, predicted_score and, where known, true_score."""
        df = pd.DataFrame({"rank": np.arange(1, len(self.scores) + 1), "model": self.scores.index,
                           "predicted_score": self.scores.to_numpy()})
        if truth is not None:
            df["true_score"] = truth.reindex(self.scores.index).to_numpy()
        return df


def left_out_notes(models: list[str], shown: int = 5) -> list[str]:
    """The note on models a method could not score, naming them (none: no note)."""
    if not models:
        return []
    names = ", ".join(models[:shown]) + (f" and {len(models) - shown} more" if len(models) > shown else "")
    return [f"left out {names}: no scores on any task this method can compare"]


def sort_scores(scores: pd.Series) -> pd.Series:
    """Scores best first, NaN dropped; ties broken by model name so they always come out the same."""
    s = scores.dropna()
    return s.iloc[np.lexsort((s.index.to_numpy(dtype=str), -s.to_numpy()))]


class Ranker(ABC):
    """Base class: hyper-parameters in ``__init__``, learned state in attributes ending in ``_``."""

    name: ClassVar[str]  # set by @register_ranker
    needs_task_tokens: ClassVar[bool] = False
    # A history baseline that `compare` runs beside the Spider, in this order (None: not run there).
    compare_order: ClassVar[float | None] = None

    def fit(self, history: History, tasks: Mapping[str, np.ndarray] | None = None, **fit_params) -> Ranker:
        """Learn from ``history`` and the history tasks' token sets ``tasks``; ``fit_params`` go to
        ``_fit`` (e.g. the Spider's PTM-specific tokens and its progress hook)."""
        if not history.models:
            raise SpiderError("cannot fit a ranker on an empty history")
        self.history_ = history
        self.models_ = history.models
        self._fit(history, dict(tasks or {}), **fit_params)
        return self

    def _fit(self, history: History, tasks: dict[str, np.ndarray], **fit_params) -> None:
        """Subclasses learn here; the default learns nothing beyond the history itself."""

    @abstractmethod
    def predict(self, task: TaskView) -> pd.Series:
        """A score per model of the fitted zoo (higher = better); NaN where it cannot tell."""

    def rank(self, task: TaskView) -> Ranking:
        if not hasattr(self, "models_"):
            raise SpiderError(f"{type(self).__name__} is not fitted: call fit(history) first")
        pred = self.predict(task)
        left = sorted(pred.index[pred.isna()])
        return Ranking(task.name, self.name, sort_scores(pred), left_out_notes(left), left)

    def held_out_predictions(self, history: History, tasks: Mapping[str, np.ndarray]) -> dict[str, pd.Series]:
        """Each history task predicted by this method fitted without it: what the accuracy map
        (ranking/accuracy.py) learns from. Refits a copy per task; a costly method overrides this."""
        out = {}
        for t in history.tasks:
            if self.needs_task_tokens and t not in tasks:
                continue
            rest = history.drop_tasks([t])
            if not rest.tasks:
                continue
            copy = type(self)(**self.get_params())
            copy.fit(rest, {k: v for k, v in tasks.items() if k != t} if self.needs_task_tokens else None)
            out[t] = copy.predict(TaskView(t, tasks.get(t)))
        return out

    def score(self, task: TaskView, truth: pd.Series) -> float:
        """Weighted Kendall's τ of the predicted scores against ``truth`` over shared models."""
        pred = self.predict(task)
        both = pd.concat([truth.rename("t"), pred.rename("p")], axis=1, join="inner").dropna()
        return weighted_tau(both["t"], both["p"])

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
