"""Selection on live models: items answered by running a local zoo's members through a backend.

Why through the run log: every item a member is asked is first looked up in, and once scored
appended to, the same per-(model, task) run log that `llm-spider evaluate` keeps (zoo/evaluate.py).
So a killed `select` resumes with every scored item kept (only unscored items are run again), a
later `evaluate` of the whole task reuses them, and an item `evaluate` already scored costs no
forward pass. Selection still counts it as one evaluation: cost is what the method asked for.

With ``slots`` > 1 (members scored by Ray actors) batches run in background threads, each waiting
on its actors, while selection goes on choosing. One lock guards the loaded backends and the run
logs (a log read while another batch appends to it would see a torn line and cut it off), and a
member with a batch in flight is never the one unloaded to make room.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from llm_spider.backends.base import Backend
from llm_spider.errors import SpiderError
from llm_spider.selection.evaluators import ItemEvaluator
from llm_spider.executors import as_scorer
from llm_spider.tasks.answers import normalise
from llm_spider.tasks.scoring import Scoring, chosen_option, item_correct, scoring_items, task_scoring
from llm_spider.zoo.evaluate import LocalStore

LOADED = 2  # backends kept loaded (at least): the two contenders top-two sampling alternates between


class LiveEvaluator(ItemEvaluator):
    """``models``: LocalModel members; ``open_backend(model)`` loads one (a ``Backend``, or a scorer
    of llm_spider.executors whose actors load it on a Ray cluster);
    ``store``: where the run logs live; ``backend``: its name, part of the logs' settings (or each
    member's, by name: a zoo may mix local and served members); ``chunk``: items per batch (or per
    member); ``slots``: batches run at once (more than one only where actors elsewhere do the scoring).
    ``usage``: the tokens served members reported for the items run now."""

    def __init__(self, models: Sequence, open_backend: Callable[[object], Backend], store: LocalStore,
                 backend: str | Mapping[str, str] = "transformers", chunk: int | Mapping[str, int] = 8,
                 slots: int = 1, on_wait: Callable[[str], None] | None = None, scoring: Scoring | None = None):
        """``scoring``: how items are scored (tasks/scoring.py; default each task's own mode)."""
        super().__init__()
        self.scoring = scoring
        self.on_wait = on_wait  # told when another process holds a run log this one needs
        self.models = {m.name: m for m in models}
        self.open_backend, self.store, self.backend, self.chunk = open_backend, store, backend, chunk
        self.slots = max(1, int(slots))
        self._loaded: OrderedDict[str, Backend] = OrderedDict()
        self._busy: Counter = Counter()  # batches in flight per member
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(self.slots, thread_name_prefix="select") if self.slots > 1 else None
        self._tasks: dict = {}
        self.forward_passes = 0  # items actually run (not found in a run log)
        self.usage: Counter = Counter()

    def _of(self, setting, model: str):
        return setting if isinstance(setting, (str, int)) else setting[model]

    @property
    def members(self) -> list[str]:
        return list(self.models)

    def _task(self, name: str):
        if name not in self._tasks:
            from llm_spider.tasks import REGISTRY

            task = REGISTRY.get(name)
            mode, gen = task_scoring(task, self.scoring)
            self._tasks[name] = (task, {it.index: it for it in scoring_items(task, mode, gen)}, mode, gen)
        return self._tasks[name]

    def items(self, task: str) -> np.ndarray:
        return np.array(sorted(self._task(task)[1]))

    def _start(self, model: str, task: str, ids: Sequence) -> Future:
        if self._pool is None:
            return super()._start(model, task, ids)
        self._task(task)  # read here, once, not raced for by the threads
        return self._pool.submit(self._outcomes, model, task, ids)

    def _acquire(self, model: str) -> Backend:
        """The member's backend, loaded if need be, marked busy until ``_release``; to make room the
        least recently used member without a batch in flight is unloaded."""
        with self._lock:
            if model in self._loaded:
                self._loaded.move_to_end(model)
            else:
                idle = [m for m in self._loaded if not self._busy[m]]
                while len(self._loaded) >= max(LOADED, self.slots) and idle:
                    self._loaded.pop(idle.pop(0)).close()
                self._loaded[model] = self.open_backend(self.models[model])
            self._busy[model] += 1
            return self._loaded[model]

    def _release(self, model: str) -> None:
        with self._lock:
            self._busy[model] -= 1

    def _outcomes(self, model: str, task: str, ids: Sequence) -> np.ndarray:
        items = self._task(task)[1]
        recs = self._scored(model, task, ids)
        return np.array([float(item_correct(items[int(i)], r)) for r, i in zip(recs, ids)])

    def _answers(self, model: str, task: str, ids: Sequence) -> np.ndarray:
        """What ``model`` answered: the option it scored highest, or its generated answer as the item's
        extraction reads it (normalised)."""
        items = self._task(task)[1]
        recs = self._scored(model, task, ids)
        return np.array([normalise(items[int(i)].read(r["text"])) if "text" in r else chosen_option(r["logprobs"])
                         for r, i in zip(recs, ids)], dtype=object)

    def _scored(self, model: str, task: str, ids: Sequence) -> list[dict]:
        """``model``'s run-log record of each item: from the run log, or run now."""
        t, items, mode, gen = self._task(task)
        unknown = [i for i in ids if int(i) not in items]
        if unknown:
            raise SpiderError(f"item {unknown[0]} is not a scorable item of task '{task}'")
        log = self.store.run_log(model, t, self._of(self.backend, model), mode, gen)
        with self._lock:
            done = log.load()
        if any(int(i) not in done for i in ids):
            # Another process may be scoring this member on this task: its lock is held while a batch
            # is scored, and the log is read again once it is ours, so no item is scored twice.
            with log.lock(self.on_wait):
                with self._lock:
                    done = log.load()
                    todo = [items[int(i)] for i in ids if int(i) not in done]
                    if todo:
                        log.start()
                if todo:
                    self._score(model, log, todo, done)
        return [done[int(i)] for i in ids]

    def _score(self, model: str, log, todo: list, done: dict) -> None:
        scorer = as_scorer(self._acquire(model))  # here, or actors on a Ray cluster
        size = self._of(self.chunk, model)
        try:
            for recs in scorer.score([todo[start:start + size] for start in range(0, len(todo), size)]):
                with self._lock:
                    log.append(recs)
                    self.forward_passes += len(recs)
                    for r in recs:
                        self.usage.update(r.get("usage") or {})
                done.update({r["i"]: r for r in recs})
        finally:
            self._release(model)

    def generated(self, model: str, task: str, n: int = 5) -> list[dict]:
        """A few of ``model``'s logged generated answers on ``task`` (its first items by position), each
        with the question, the text, what was extracted, the accepted answers and whether it is right:
        what `report` shows of the pick on a generated-answer task. Empty for an option-scored task."""
        t, items, mode, gen = self._task(task)
        if mode != "generate":
            return []
        with self._lock:
            done = self.store.run_log(model, t, self._of(self.backend, model), mode, gen).load()
        out = []
        for i in sorted(i for i in done if i in items)[:n]:
            item, rec = items[i], done[i]
            out.append({"question": t.items[i].question, "generated": rec.get("text", ""),
                        "extracted": item.read(rec.get("text", "")), "accepted": " | ".join(item.accepted),
                        "right": bool(item_correct(item, rec))})
        return out

    def close(self) -> None:
        """Let batches in flight end (what they score is logged), then unload every member."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        while self._loaded:
            self._loaded.popitem()[1].close()

