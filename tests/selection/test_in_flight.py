"""Adaptive selection with batches in flight (issue 23): the loop asks for the next batch while
others run, counts them against the budget when asked for, never asks an item twice, and settles
only on every item it paid for."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from llm_spider.selection import RecordedEvaluator, select_adaptive
from tests.selection.test_adaptive import ACC, zoo


class SlowEvaluator(RecordedEvaluator):
    """A recorded zoo answered in background threads after a random pause, so batches end out of
    the order asked; it keeps what was asked and how many batches ran at once."""

    def __init__(self, slots: int, seed: int = 0):
        super().__init__(zoo(ACC))
        self.slots = slots
        self._pool = ThreadPoolExecutor(slots)
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self.running = self.most_running = 0
        self.asked: dict[str, list] = {m: [] for m in ACC}
        self.futures: list[Future] = []

    def _start(self, model, task, ids):
        pause = float(self._rng.uniform(0.0, 0.01))
        self.asked[model] += list(ids)

        def run():
            with self._lock:
                self.running += 1
                self.most_running = max(self.most_running, self.running)
            time.sleep(pause)
            with self._lock:
                self.running -= 1
            return self._outcomes(model, task, ids)

        self.futures.append(self._pool.submit(run))
        return self.futures[-1]


def test_batches_run_at_once_yet_no_item_is_asked_twice_and_every_paid_item_is_read():
    picks = []
    for seed in range(6):
        ev = SlowEvaluator(slots=4, seed=seed)
        res = select_adaptive(ev, "t", seed=seed)
        assert ev.most_running > 1  # the loop went on choosing while batches ran
        assert all(f.done() for f in ev.futures)  # it settled only once every batch asked for had ended
        assert res.in_flight == 4 and res.evaluations == ev.evaluations == res.evaluated.sum()
        for m, ids in ev.asked.items():
            assert len(ids) == len(set(ids)) == res.evaluated[m]  # each item once, all of them read
        assert res.stopped == "confidence" and res.p_good >= 0.95
        picks.append(ACC[res.pick] >= max(ACC.values()) - 0.02)
    assert sum(picks) >= 4


def test_batches_in_flight_count_against_the_budget():
    for slots in (2, 8):
        ev = SlowEvaluator(slots=slots)
        res = select_adaptive(ev, "t", budget=30, seed=0)
        assert res.stopped == "budget" and res.evaluations == ev.evaluations == 30 == res.evaluated.sum()


def test_one_in_flight_is_the_sequential_loop_and_a_recorded_replay_is_deterministic():
    prior = pd.Series(ACC) + 0.1
    kwargs = dict(prior=prior, prior_strength=40, shift_var=0.01, seed=4)
    a = select_adaptive(RecordedEvaluator(zoo(ACC)), "t", **kwargs)
    b = select_adaptive(RecordedEvaluator(zoo(ACC)), "t", in_flight=1, **kwargs)
    assert (a.pick, a.evaluations, a.evaluated.tolist(), a.p_good) == (b.pick, b.evaluations, b.evaluated.tolist(),
                                                                      b.p_good)
    c, d = (select_adaptive(RecordedEvaluator(zoo(ACC)), "t", in_flight=4, **kwargs) for _ in range(2))
    assert (c.pick, c.evaluations, c.evaluated.tolist()) == (d.pick, d.evaluations, d.evaluated.tolist())
    assert c.in_flight == 4 and a.in_flight == 1


def test_a_failing_batch_ends_selection_with_its_error():
    class Broken(SlowEvaluator):
        def _outcomes(self, model, task, ids):
            if model == "close":
                raise RuntimeError("close is broken")
            return super()._outcomes(model, task, ids)

    with pytest.raises(RuntimeError, match="close is broken"):
        select_adaptive(Broken(slots=3), "t", seed=0)
