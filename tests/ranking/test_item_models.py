"""Item-level models: they learn which questions each member gets right, predict unseen items and
whole tasks from their questions, and the items prior never reads the target's outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from llm_spider.ranking.items import ALPHAS, ITEM_MODELS, ItemData, item_estimate, loto, make_item_model
from llm_spider.ranking.items.prior import residual_error
from llm_spider.ranking.items.ridge import RidgeStats, total
from llm_spider.zoo.history import History

MEMBERS = ["coder", "scholar", "weak"]


def topical_zoo(n: int = 800, dim: int = 16, seed: int = 0):
    """Items of two topics (directions in the vector space) in four tasks: 'coder' answers code
    items (topic 0) at 0.85 and the rest at 0.45, 'scholar' the reverse, 'weak' 0.2 on all."""
    axes = np.random.default_rng(99).normal(size=(2, dim))  # the same topics in every draw
    rng = np.random.default_rng(seed)
    topic = np.repeat([0, 1, 0, 1], n // 4)
    X = axes[topic] + 0.5 * rng.normal(size=(n, dim))
    p = np.stack([np.where(topic == 0, 0.85, 0.45), np.where(topic == 1, 0.85, 0.45), np.full(n, 0.2)], axis=1)
    Y = (rng.random(p.shape) < p).astype(float)
    Y[: n // 8, 2] = np.nan  # a member without results on part of a task
    tasks = {f"t{k}": np.arange(k * n // 4, (k + 1) * n // 4) for k in range(4)}
    return ItemData(MEMBERS, X, Y, tasks), topic


def history_of(data: ItemData) -> History:
    table = {t: dict(zip(data.members, np.nanmean(data.Y[rows], axis=0))) for t, rows in data.tasks.items()}
    return History.from_wide(pd.DataFrame(table), source="test")


@pytest.mark.parametrize("name", [*ITEM_MODELS, "mean:ridge+irt"])
def test_each_model_predicts_who_answers_unseen_items_of_each_topic(name):
    data, topic = topical_zoo()
    train = data.rows(["t0", "t1"])
    model = make_item_model(name).fit(data.X[train], data.Y[train])
    new, new_topic = topical_zoo(seed=1)
    p = model.predict_proba(new.X)
    assert p.shape == (len(new.X), 3) and np.all((p > 0) & (p < 1))
    code, prose = p[new_topic == 0].mean(axis=0), p[new_topic == 1].mean(axis=0)
    assert code[0] > code[1] > code[2] and prose[1] > prose[0] > prose[2]


def test_the_items_prior_never_reads_the_target_outcomes():
    data, _ = topical_zoo()
    history = history_of(data)
    first = item_estimate(data, history, "t3")
    spoiled = ItemData(data.members, data.X, data.Y.copy(), data.tasks)
    spoiled.Y[data.tasks["t3"]] = 1.0 - spoiled.Y[data.tasks["t3"]]  # every target outcome flipped
    assert np.allclose(item_estimate(spoiled, history, "t3"), first)
    # t3 is a prose task: the prior puts the scholar first, learnt from t1's items
    assert first.idxmax() == "scholar" and first["weak"] == first.min()


def direct_ridge(X, y, alpha):
    """Each member's ridge fit on its own rows, from the rows themselves (intercept unpenalised)."""
    have = ~np.isnan(y)
    X, y = X[have], y[have]
    xbar, ybar = X.mean(axis=0), y.mean()
    w = np.linalg.solve((X - xbar).T @ (X - xbar) + alpha * np.eye(X.shape[1]), (X - xbar).T @ (y - ybar))
    return w, ybar - xbar @ w


def test_ridge_sums_give_the_fit_on_the_rows_even_after_tasks_are_taken_out():
    data, _ = topical_zoo()
    parts = [RidgeStats.of(data.X[r], data.Y[r]) for r in data.tasks.values()]
    # all four tasks, then "all but t0" as a difference: the 'weak' member has holes in t0 only
    for stats, rows in [(total(parts), data.rows(["t0", "t1", "t2", "t3"])),
                        (total(parts) - parts[0], data.rows(["t1", "t2", "t3"]))]:
        for alpha, (W, c) in zip((1.0, 100.0), stats.solve((1.0, 100.0))):
            for j in range(len(MEMBERS)):
                w, b = direct_ridge(data.X[rows], data.Y[rows, j], alpha)
                assert np.allclose(W[:, j], w, atol=1e-8) and np.isclose(c[j], b, atol=1e-8)


def test_the_history_chooses_the_penalty_with_the_smallest_leave_one_task_out_error():
    data, _ = topical_zoo()
    history = history_of(data).drop_tasks(["t3"])
    alpha, est = loto(data, history)
    assert set(est) == set(history.tasks)  # every history task is left out, not a sample
    errors = {}
    for a in ALPHAS:  # each task's estimate refitted from the other tasks' rows: it never reads its own
        mine = {}
        for t in history.tasks:
            rows = data.rows([u for u in history.tasks if u != t])
            fits = [direct_ridge(data.X[rows], data.Y[rows, j], a) for j in range(3)]
            W, c = np.stack([w for w, _ in fits], axis=1), np.array([b for _, b in fits])
            mine[t] = pd.Series(np.clip(data.X[data.tasks[t]] @ W + c, 1e-3, 1 - 1e-3).mean(axis=0), index=MEMBERS)
        errors[a] = residual_error(mine, history.wide())
        if a == alpha:
            for t in history.tasks:
                assert np.allclose(est[t], mine[t])
    assert alpha == min(errors, key=errors.get)


def test_unknown_model_names_the_choices():
    from llm_spider.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="ridge"):
        make_item_model("ridgee")


def test_a_history_of_one_task_gives_ridge_at_its_default_penalty_and_none_a_clear_error():
    from llm_spider.errors import SpiderError
    from llm_spider.ranking.items.prior import NO_HISTORY, fit_predict

    data, _ = topical_zoo()
    history = history_of(data)
    one = item_estimate(data, history.drop_tasks(["t1", "t2"]), "t3")  # t0 alone: nothing to leave out
    assert np.allclose(one, fit_predict("ridge", data, ["t0"], "t3"))
    with pytest.raises(SpiderError, match=NO_HISTORY):
        item_estimate(data, history.drop_tasks(["t0", "t1", "t2"]), "t3")
