"""What selection asks of a zoo: "evaluate model m on items I of task T", answered 1/0 per item.

Why an interface of its own: adaptive selection must not know whether it talks to recorded results
or to live models. ``RecordedEvaluator`` answers from a recorded zoo's store (zoo/recorded.py); a
live evaluator answers by running a backend on the items' prompts. Both count what they were asked,
which is the cost selection reports.

Why ``submit``: on a cluster a batch takes seconds while the next choice takes milliseconds, so
selection asks for a batch and goes on choosing while it runs (selection/adaptive.py). An evaluator
says how many batches it can run at once (``slots``); one that answers at once (a recorded zoo)
returns a finished future, so asking several batches of it replays a cluster whose batches end in
the order asked.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.zoo.recorded import RecordedZoo


class ItemEvaluator(ABC):
    """The zoo's members, each task's items, and 1/0 outcomes of a member on items (NaN: no answer)."""

    slots = 1  # batches it runs at once

    def __init__(self) -> None:
        self.evaluations = 0

    @property
    @abstractmethod
    def members(self) -> list[str]:
        """The models that can be evaluated."""

    @abstractmethod
    def items(self, task: str) -> np.ndarray:
        """The task's item ids, in a fixed order."""

    @abstractmethod
    def _outcomes(self, model: str, task: str, ids: Sequence) -> np.ndarray:
        """1.0 / 0.0 per item; NaN where the model has no answer to give."""

    def _answers(self, model: str, task: str, ids: Sequence) -> np.ndarray:
        """The option each item was answered with (None: no answer), for label-free selection."""
        raise SpiderError(f"{type(self).__name__} keeps no answers, only correctness: label-free selection "
                          "needs the options the models chose")

    def answers(self, model: str, task: str, ids: Sequence) -> np.ndarray:
        """The options ``model`` chose on items ``ids`` (objects; None where it gave none); counted
        like ``evaluate``: one evaluation per id."""
        if model not in self.members:
            raise UnknownNameError("model", model, self.members)
        out = self._answers(model, task, ids)
        self.evaluations += len(ids)
        return out

    def evaluate(self, model: str, task: str, ids: Sequence) -> np.ndarray:
        """Outcomes of ``model`` on items ``ids`` of ``task``; every id asked for counts as one evaluation."""
        return self.submit(model, task, ids).result()

    def submit(self, model: str, task: str, ids: Sequence) -> Future:
        """``evaluate`` without waiting: a future of its outcomes. Counted when asked for, since a
        batch in flight is paid for whether or not selection still needs it when it ends."""
        if model not in self.members:
            raise UnknownNameError("model", model, self.members)
        fut = self._start(model, task, ids)
        self.evaluations += len(ids)
        return fut

    def _start(self, model: str, task: str, ids: Sequence) -> Future:
        """Run the batch here and now (an evaluator with ``slots`` > 1 runs it in the background)."""
        fut: Future = Future()
        fut.set_result(self._outcomes(model, task, ids))
        return fut


class RecordedEvaluator(ItemEvaluator):
    """Answers from a recorded zoo at one task level."""

    def __init__(self, zoo: RecordedZoo, level: str | None = None):
        super().__init__()
        self.zoo, self.level = zoo, level
        self._tasks = zoo.tasks(level)

    @property
    def members(self) -> list[str]:
        return self.zoo.members

    def items(self, task: str) -> np.ndarray:
        if task not in self._tasks:
            raise UnknownNameError("task", task, self._tasks)
        return self._tasks[task]

    def _outcomes(self, model: str, task: str, ids: Sequence) -> np.ndarray:
        return self.zoo.outcomes(model, ids)

    def _answers(self, model: str, task: str, ids: Sequence) -> np.ndarray:
        return self.zoo.answers(model, ids)
