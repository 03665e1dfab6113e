"""The contract every registered ranker keeps (scikit-learn's estimator checks, in small): run on each
name in the registry, so a new ranker is checked the moment its file exists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_history

from llm_spider.ranking import RANKERS, TaskView, make_ranker, uses_seed

# Small settings for rankers whose defaults train for long; every other ranker runs with its defaults.
FAST = {"spider": dict(dim=16, heads=2, epochs=3, mixtures=4, batch_tasks=8)}
TARGET = "t0"


def world(seed: int = 0, n_models: int = 7, n_tasks: int = 8, dim: int = 12):
    """A history of tasks whose orders depend on their tokens, and the target's true scores."""
    rng = np.random.default_rng(seed)
    models = [f"m{i}" for i in range(n_models)]
    table, tokens = {}, {}
    for j in range(n_tasks):
        t = rng.normal(size=(6, dim)).astype(np.float32)
        table[f"t{j}"] = dict(zip(models, np.linspace(0.2, 0.8, n_models) + 0.2 * rng.normal(size=n_models) * t[0, 0]))
        tokens[f"t{j}"] = t
    return make_history(table), tokens


def fitted(name: str, history, tokens, seed: int = 0):
    ranker = make_ranker(name, random_state=seed, **FAST.get(name, {}))
    return ranker.fit(history, tokens if ranker.needs_task_tokens else None)


@pytest.fixture(params=RANKERS.names())
def name(request) -> str:
    return request.param


def test_fit_predict_rank_score_shapes(name):
    history, tokens = world()
    train = history.drop_tasks([TARGET])
    ranker = fitted(name, train, tokens)
    assert ranker.models_ == train.models and ranker.name == name
    view = TaskView(TARGET, tokens[TARGET])
    pred = ranker.predict(view)
    assert isinstance(pred, pd.Series) and list(pred.index) == ranker.models_
    assert pred.dtype.kind == "f" and pred.notna().all()
    ranking = ranker.rank(view)
    assert sorted(ranking.models) == sorted(ranker.models_) and ranking.method == name
    assert (np.diff(ranking.scores.to_numpy()) <= 0).all()  # best first
    tau = ranker.score(view, history.wide()[TARGET])
    assert -1.0 <= tau <= 1.0
    assert repr(ranker).startswith(type(ranker).__name__ + "(")


def test_same_seed_same_ranking_and_refit_forgets(name):
    history, tokens = world()
    train = history.drop_tasks([TARGET])
    view = TaskView(TARGET, tokens[TARGET])
    first = fitted(name, train, tokens, seed=3).predict(view)
    pd.testing.assert_series_equal(first, fitted(name, train, tokens, seed=3).predict(view))
    # Fitting again on another history leaves nothing of the first fit behind.
    other, other_tokens = world(seed=1)
    ranker = fitted(name, other.drop_tasks([TARGET]), other_tokens, seed=3)
    ranker.fit(train, tokens if ranker.needs_task_tokens else None)
    pd.testing.assert_series_equal(ranker.predict(view), first)


def test_never_sees_the_targets_scores(name):
    """Fitted without the target's row, the ranking cannot change when only the target's scores do:
    nothing of the target reaches a ranker but its name and tokens."""
    history, tokens = world()
    wide = history.wide()
    shuffled = wide.copy()
    shuffled[TARGET] = np.random.default_rng(9).permutation(wide[TARGET].to_numpy())
    view = TaskView(TARGET, tokens[TARGET])
    a = fitted(name, history.drop_tasks([TARGET]), tokens).predict(view)
    b = fitted(name, make_history(shuffled.to_dict()).drop_tasks([TARGET]), tokens).predict(view)
    pd.testing.assert_series_equal(a, b)
    if uses_seed(name):  # ... and its random state is its own, not a global one
        np.random.seed(123)
        pd.testing.assert_series_equal(a, fitted(name, history.drop_tasks([TARGET]), tokens).predict(view))
