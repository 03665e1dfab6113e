import numpy as np
import pytest
from conftest import make_history

from llm_spider.baselines import LeaderboardRanker, RandomRanker, SimilarTasksRanker
from llm_spider.benchmark import PROTOCOLS, run_protocol
from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.ranking import TaskView, make_ranker, method_names


def one_hot(i: int, dim: int = 8, n: int = 3) -> np.ndarray:
    tokens = np.zeros((n, dim), dtype=np.float32)
    tokens[:, i] = 1.0
    return tokens


def test_registry_names_and_unknown_method():
    assert {"random", "leaderboard", "similar-tasks"} <= set(method_names())
    with pytest.raises(UnknownNameError) as err:
        make_ranker("leaderbord")
    assert "leaderboard" in err.value.suggestions


def test_unfitted_ranker_refuses():
    with pytest.raises(SpiderError, match="not fitted"):
        LeaderboardRanker().rank(TaskView("t"))


def test_leaderboard_is_the_mean_over_history_tasks():
    h = make_history({"t1": {"a": 0.2, "b": 0.9, "c": 0.5}, "t2": {"a": 0.4, "b": 0.5, "c": np.nan}})
    ranking = LeaderboardRanker().fit(h).rank(TaskView("new"))
    assert ranking.models == ["b", "c", "a"]
    assert ranking.scores["b"] == pytest.approx(0.7)
    assert ranking.scores["c"] == pytest.approx(0.5)


def test_random_is_reproducible_and_seed_dependent(tiny_history):
    a = RandomRanker(random_state=1).fit(tiny_history).rank(TaskView("x")).models
    b = RandomRanker(random_state=1).fit(tiny_history).rank(TaskView("x")).models
    c = RandomRanker(random_state=2).fit(tiny_history).rank(TaskView("x")).models
    assert a == b and a != c and sorted(a) == sorted(tiny_history.models)


def test_similar_tasks_follows_the_most_similar_history_task():
    # Two history tasks with opposite orders; the target looks like t_math.
    h = make_history({"t_math": {"a": 0.9, "b": 0.5, "c": 0.1}, "t_law": {"a": 0.1, "b": 0.5, "c": 0.9}})
    tokens = {"t_math": one_hot(0), "t_law": one_hot(1)}
    ranker = SimilarTasksRanker(k=1).fit(h, tokens)
    assert ranker.rank(TaskView("target", one_hot(0) + 0.1 * one_hot(1))).models == ["a", "b", "c"]
    assert ranker.rank(TaskView("target", one_hot(1))).models == ["c", "b", "a"]


def test_similar_tasks_falls_back_to_scored_tasks_and_needs_tokens():
    h = make_history({"t1": {"a": 0.9, "b": np.nan}, "t2": {"a": 0.1, "b": 0.3}})
    ranker = SimilarTasksRanker(k=1).fit(h, {"t1": one_hot(0), "t2": one_hot(1)})
    pred = ranker.predict(TaskView("x", one_hot(0)))
    assert pred["a"] == pytest.approx(0.9) and pred["b"] == pytest.approx(0.3)
    with pytest.raises(SpiderError, match="token set"):
        ranker.predict(TaskView("x"))
    with pytest.raises(SpiderError, match="none of the"):
        SimilarTasksRanker().fit(h, {"other": one_hot(0)})


def test_score_is_weighted_tau_against_truth(tiny_history):
    ranker = LeaderboardRanker().fit(tiny_history)
    truth = tiny_history.wide().mean(axis=1)
    assert ranker.score(TaskView("x"), truth) == pytest.approx(1.0)


@pytest.mark.parametrize("protocol, tau, regret, n_models", [
    ("loto-mmlu", 0.896, 0.0074, 149),
    ("loto-bbh", 0.749, 0.0383, 111),
    ("mmlu-to-bbh", 0.704, 0.0522, 80),
])
def test_leaderboard_baseline_reproduces_reference_figures(leaderboard, protocol, tau, regret, n_models):
    """The harness against figures computed independently on the same table (shared/PROVENANCE)."""
    summary, folds = run_protocol(leaderboard, PROTOCOLS[protocol], "leaderboard", 0, {})
    assert summary["n_models"] == n_models
    assert summary["weighted_tau"] == pytest.approx(tau, abs=0.001)
    assert summary["top1_regret"] == pytest.approx(regret, abs=0.0005)
    assert len(folds) == summary["n_folds"] == (57 if protocol == "loto-mmlu" else 24)


def test_folds_never_train_on_their_target(leaderboard):
    for name in ("loto-mmlu", "loto-bbh", "mmlu-to-bbh"):
        for fold in PROTOCOLS[name].folds(leaderboard):
            assert fold.target not in fold.train_tasks


def test_random_baseline_is_near_zero(leaderboard):
    summary, _ = run_protocol(leaderboard, PROTOCOLS["loto-mmlu"], "random", 0, {})
    assert abs(summary["weighted_tau"]) < 0.15
