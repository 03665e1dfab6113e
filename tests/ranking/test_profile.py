"""Task similarity from the shipped leaderboard's profiles, and the rankers that mix it in."""

import numpy as np
import pytest
from conftest import make_history

from llm_spider.baselines import SimilarTasksRanker
from llm_spider.errors import SpiderError
from llm_spider.ranking import TaskView
from llm_spider.ranking.similarity import LeaderboardProfile, mix_similarity
from llm_spider.ranking.spider import SpiderRanker
from llm_spider.zoo import History

TASKS = ["mmlu_philosophy", "mmlu_world_religions", "mmlu_high_school_mathematics", "bbh_snarks", "arc_challenge"]


def test_profile_is_the_correlation_of_ability_free_scores_without_the_excluded_models():
    board = History.from_leaderboard().wide()
    left_out = list(board.index[:30])
    profile = LeaderboardProfile(left_out)
    # By hand: column z-scores over the other models, each model's mean z-score taken out, Pearson.
    z = board.drop(index=left_out)
    z = (z - z.mean()) / z.std()
    z = z.sub(z.mean(axis=1), axis=0)
    a, b = "mmlu_philosophy", "bbh_snarks"
    assert profile.similarity(a, [b])[0] == pytest.approx(z[a].corr(z[b], min_periods=20))
    m = profile.matrix(TASKS)
    np.testing.assert_allclose(m, m.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(m), 1.0)
    assert np.all(np.abs(m) <= 1 + 1e-12)
    assert not np.allclose(m, LeaderboardProfile().matrix(TASKS))  # the excluded models are not read


def test_composites_average_their_parts_and_unknown_tasks_have_none():
    from llm_spider.tasks import REGISTRY

    profile = LeaderboardProfile()
    parts = list(REGISTRY.get("mmlu_subset").components)
    expected = np.mean([profile.similarity(p, ["bbh_snarks"])[0] for p in parts])
    assert profile.similarity("mmlu_subset", ["bbh_snarks"])[0] == pytest.approx(expected)
    assert profile.known("mmlu_subset") and not profile.known("openbookqa") and not profile.known("my_own_task")
    assert np.isnan(profile.similarity("openbookqa", TASKS)).all()
    assert np.isnan(profile.similarity("mmlu_philosophy", ["openbookqa", "arc_challenge"])[0])


def test_mix_similarity_averages_where_known_and_keeps_the_encoder_elsewhere():
    enc = np.array([0.2, 0.8, -np.inf])
    out = mix_similarity(enc, np.array([0.6, np.nan, 0.5]))
    assert out[0] == pytest.approx(0.4) and out[1] == pytest.approx(0.8) and out[2] == -np.inf
    assert mix_similarity(enc, None) is enc


def opposite_orders():
    """Leaderboard tasks as history, with made-up scores: each of the two most profile-similar tasks to
    the target has its own order, and the prompts cannot tell the tasks apart."""
    profile = LeaderboardProfile()
    target, history_tasks = TASKS[0], TASKS[1:]
    nearest = history_tasks[int(np.argmax(profile.similarity(target, history_tasks)))]
    models = [f"m{i}" for i in range(5)]
    up = np.linspace(0.3, 0.7, 5)
    table = {t: dict(zip(models, up if t == nearest else up[::-1])) for t in history_tasks}
    tokens = {t: np.ones((4, 8), np.float32) for t in TASKS}
    return make_history(table), tokens, target, nearest


def test_similar_tasks_with_the_mixed_similarity_follows_the_profile():
    h, tokens, target, nearest = opposite_orders()
    view = TaskView(target, tokens[target])
    mixed = SimilarTasksRanker(k=1, similarity="mixed").fit(h, tokens)
    assert mixed.rank(view).models == ["m4", "m3", "m2", "m1", "m0"]  # the profile's nearest task's order
    # The encoder alone sees identical prompts: it follows whichever task comes first, not the nearest.
    encoder = SimilarTasksRanker(k=1).fit(h, tokens)
    first = h.tasks[0]
    assert first != nearest and encoder.rank(view).models == ["m0", "m1", "m2", "m3", "m4"]
    with pytest.raises(SpiderError, match="similarity must be one of"):
        SimilarTasksRanker(similarity="leaderboard")


def test_spider_with_the_similar_prior_starts_from_the_mixed_estimate_and_round_trips(tmp_path):
    h, tokens, target, _ = opposite_orders()
    params = dict(dim=16, heads=2, mixtures=4, batch_tasks=8, val_fraction=0, prior="similar", similarity="mixed",
                  memory=False)
    spider = SpiderRanker(**params, epochs=0).fit(h, tokens)
    assert spider.stack_lambda_ == 1.0 and spider.profile_.exclude_models == ()  # made-up names: none to leave out
    view = TaskView(target, tokens[target])
    estimate = SimilarTasksRanker(similarity="mixed").fit(h, tokens).predict(view)
    pred = spider.predict(view)
    assert list(pred.sort_values().index) == list(estimate.sort_values().index)
    z = (estimate - estimate.mean()) / estimate.std(ddof=0)
    np.testing.assert_allclose(pred.to_numpy(), z.reindex(pred.index).to_numpy(), atol=1e-5)
    trained = SpiderRanker(**params, epochs=3).fit(h, tokens)
    trained.encoder_ = {"name": "test-encoder", "n_prompts": 4, "seed": 0}
    trained.save(tmp_path / "s")
    loaded = SpiderRanker.load(tmp_path / "s")
    assert loaded.get_params()["similarity"] == "mixed" and loaded.profile_sims_ is not None
    np.testing.assert_allclose(loaded.predict(view).to_numpy(), trained.predict(view).to_numpy(), rtol=1e-6)
    with pytest.raises(SpiderError, match="needs prior="):
        SpiderRanker(similarity="mixed")
    with pytest.raises(SpiderError, match="memory=False"):
        SpiderRanker(prior="similar")


def test_the_spider_profile_leaves_the_zoos_own_leaderboard_models_out():
    board = History.from_leaderboard()
    wide = board.wide()[TASKS].dropna().iloc[:8]
    h = History.from_wide(wide, "cut")
    tokens = {t: np.random.default_rng(i).normal(size=(4, 8)).astype(np.float32) for i, t in enumerate(TASKS)}
    spider = SpiderRanker(dim=16, heads=2, epochs=0, val_fraction=0, prior="similar", similarity="mixed",
                          memory=False).fit(h, tokens)
    assert spider.profile_.exclude_models == tuple(sorted(wide.index))
    assert not np.allclose(spider.profile_sims_, LeaderboardProfile().matrix(spider.tasks_))
