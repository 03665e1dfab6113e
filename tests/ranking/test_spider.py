import json

import numpy as np
import pytest
from conftest import make_history

from llm_spider.baselines import LeaderboardRanker
from llm_spider.errors import SpiderError
from llm_spider.ranking import TaskView
from llm_spider.ranking.spider import SpiderRanker, priors

SMALL = dict(dim=16, heads=2, epochs=30, mixtures=8, batch_tasks=8, val_fraction=0)


def two_kinds(seed: int = 0, n_models: int = 8, per_kind: int = 6, dim: int = 16):
    """Two kinds of task whose model orders are opposite, told apart by their prompt tokens."""
    rng = np.random.default_rng(seed)
    models = [f"m{i}" for i in range(n_models)]
    ability = np.linspace(0.2, 0.9, n_models)
    table, tokens = {}, {}
    for kind, order in (("a", ability), ("b", ability[::-1])):
        for j in range(per_kind):
            name = f"{kind}{j}"
            table[name] = dict(zip(models, order + rng.normal(0, 0.02, n_models)))
            base = np.zeros(dim, np.float32)
            base[0 if kind == "a" else 1] = 1.0
            tokens[name] = (base + rng.normal(0, 0.3, (8, dim))).astype(np.float32)
    return make_history(table), tokens


def test_learns_a_task_dependent_order_the_leaderboard_cannot():
    h, tokens = two_kinds()
    train = h.drop_tasks(["a0", "b0"])
    spider = SpiderRanker(**SMALL).fit(train, tokens)
    board = LeaderboardRanker().fit(train)
    for target in ("a0", "b0"):
        truth = h.wide()[target]
        assert spider.score(TaskView(target, tokens[target]), truth) > 0.8
        assert abs(board.score(TaskView(target, tokens[target]), truth)) < 0.5
    assert spider.rank(TaskView("a0", tokens["a0"])).models[0] == "m7"
    assert spider.rank(TaskView("b0", tokens["b0"])).models[0] == "m0"


def test_the_transformer_alone_learns_it_too():
    """Without the history memory and the leaderboard prior: θ_m and the attention do the work."""
    h, tokens = two_kinds()
    train = h.drop_tasks(["a0", "b0"])
    spider = SpiderRanker(**{**SMALL, "epochs": 80}, memory=False, residual=False).fit(train, tokens)
    for target in ("a0", "b0"):
        assert spider.score(TaskView(target, tokens[target]), h.wide()[target]) > 0.7


def test_same_seed_same_model_other_seed_other_model():
    h, tokens = two_kinds()
    view = TaskView("a0", tokens["a0"])
    p1 = SpiderRanker(**SMALL, random_state=3).fit(h, tokens).predict(view)
    p2 = SpiderRanker(**SMALL, random_state=3).fit(h, tokens).predict(view)
    p3 = SpiderRanker(**SMALL, random_state=4).fit(h, tokens).predict(view)
    np.testing.assert_array_equal(p1.to_numpy(), p2.to_numpy())
    assert not np.allclose(p1.to_numpy(), p3.to_numpy())


def test_save_load_round_trip_and_refusals(tmp_path):
    h, tokens = two_kinds()
    spider = SpiderRanker(**SMALL).fit(h, tokens)
    spider.encoder_ = {"name": "test-encoder", "n_prompts": 8, "seed": 0}
    spider.save(tmp_path / "ckpt")
    loaded = SpiderRanker.load(tmp_path / "ckpt")
    view = TaskView("a0", tokens["a0"])
    np.testing.assert_allclose(loaded.predict(view).to_numpy(), spider.predict(view).to_numpy(), rtol=1e-6)
    assert loaded.encoder_["name"] == "test-encoder"
    assert loaded.get_params() == spider.get_params()

    # A config edited after the weights were written is refused.
    cfg = tmp_path / "ckpt" / "spider.json"
    data = json.loads(cfg.read_text())
    data["params"]["dim"] = 32
    cfg.write_text(json.dumps(data))
    with pytest.raises(SpiderError, match="hash mismatch"):
        SpiderRanker.load(tmp_path / "ckpt")
    with pytest.raises(SpiderError, match="not a Spider checkpoint"):
        SpiderRanker.load(tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "spider.json").write_text(json.dumps({"format": "something-else"}))
    (tmp_path / "other" / "spider.safetensors").write_bytes(b"")
    with pytest.raises(SpiderError, match="not a version-1 Spider checkpoint"):
        SpiderRanker.load(tmp_path / "other")


def test_add_model_fits_only_its_own_token(tmp_path):
    h, tokens = two_kinds()
    spider = SpiderRanker(**SMALL).fit(h.drop_tasks(["a0"]), tokens)
    before = {k: v.clone() for k, v in spider.net_.state_dict().items()}
    # A model best of all on kind-a tasks, worst on kind-b, known from three tasks only.
    report = spider.add_model("newcomer", {"a1": 0.99, "a2": 0.98, "b1": 0.05}, tokens)
    assert report["tasks_used"] == ["a1", "a2", "b1"]
    after = spider.net_.state_dict()
    for k, v in before.items():
        if k == "theta":
            np.testing.assert_array_equal(after[k][:-1].numpy(), v.numpy())
            assert after[k].shape[0] == v.shape[0] + 1
        else:
            np.testing.assert_array_equal(after[k].numpy(), v.numpy())
    assert spider.rank(TaskView("a0", tokens["a0"])).models[0] == "newcomer"
    assert spider.rank(TaskView("b3", tokens["b3"])).models[-1] == "newcomer"
    # ... and it survives a save/load round trip.
    spider.save(tmp_path / "c")
    assert "newcomer" in SpiderRanker.load(tmp_path / "c").models_

    with pytest.raises(SpiderError, match="at least 3"):
        spider.add_model("few", {"a1": 0.5, "zz": 0.4}, tokens)
    with pytest.raises(SpiderError, match="already in the zoo"):
        spider.add_model("m1", {"a1": 0.5, "a2": 0.5, "a3": 0.5}, tokens)


def test_ptm_specific_tokens_are_accepted_and_used():
    h, tokens = two_kinds()
    spider = SpiderRanker(**SMALL, extra_dim=4).fit(h, tokens)
    plain = spider.predict(TaskView("a0", tokens["a0"]))
    extra = {"m0": np.ones((2, 4), np.float32), "m3": -np.ones((5, 4), np.float32)}
    with_extra = spider.predict(TaskView("a0", tokens["a0"], extra_tokens=extra))
    assert with_extra["m0"] != pytest.approx(plain["m0"])
    assert with_extra["m1"] == pytest.approx(plain["m1"])  # models without extra tokens unchanged
    with pytest.raises(SpiderError, match="width"):
        spider.predict(TaskView("a0", tokens["a0"], extra_tokens={"m0": np.ones((2, 3))}))
    no_extra = SpiderRanker(**SMALL).fit(h, tokens)
    with pytest.raises(SpiderError, match="without PTM-specific tokens"):
        no_extra.predict(TaskView("a0", tokens["a0"], extra_tokens=extra))


def test_excluded_tasks_are_not_looked_up():
    h, tokens = two_kinds()
    spider = SpiderRanker(**SMALL).fit(h, tokens)
    seen = spider.predict(TaskView("a0", tokens["a0"]))
    hidden = spider.predict(TaskView("a0", tokens["a0"], exclude=("a0",)))
    assert not np.allclose(seen.to_numpy(), hidden.to_numpy())


def test_needs_tokens_and_matching_width():
    h, tokens = two_kinds()
    with pytest.raises(SpiderError, match="token sets"):
        SpiderRanker(**SMALL).fit(h, {})
    spider = SpiderRanker(**SMALL).fit(h, tokens)
    with pytest.raises(SpiderError, match="expects"):
        spider.predict(TaskView("x", np.zeros((3, 5), np.float32)))


def test_the_shipped_checkpoint_matches_the_leaderboard_data(leaderboard):
    """A stale checkpoint (data, registry or encoder changed without `llm-spider train`) fails here."""
    from llm_spider.encoders import SentenceEncoder
    from llm_spider.paths import SHIPPED_CHECKPOINT
    from llm_spider.tasks import REGISTRY

    spider = SpiderRanker.load(SHIPPED_CHECKPOINT)
    assert spider.models_ == leaderboard.models
    assert spider.tasks_ == [t for t in leaderboard.tasks if t in REGISTRY]
    assert spider.encoder_ == {"name": SentenceEncoder().name, "n_prompts": 32, "seed": 0}
    assert spider.get_params() == SpiderRanker().get_params()  # trained with today's defaults
    assert not spider.added_models_


def one_order(seed: int = 0, n_models: int = 8, n_tasks: int = 12, dim: int = 16, noise: float = 0.05):
    """Tasks that all share one model order (plus noise) and whose prompts are unrelated to it."""
    rng = np.random.default_rng(seed)
    models = [f"m{i}" for i in range(n_models)]
    ability = np.linspace(0.2, 0.9, n_models)
    table = {f"t{j}": dict(zip(models, ability + rng.normal(0, noise, n_models))) for j in range(n_tasks)}
    tokens = {t: rng.normal(0, 1, (8, dim)).astype(np.float32) for t in table}
    return make_history(table), tokens


STACKED = dict(SMALL, prior="stacked", memory=False)


def test_stacked_prior_chooses_the_neighbours_where_they_know_better():
    """Two kinds of task with opposite orders: the overall mean is no guide, the nearest tasks are."""
    h, tokens = two_kinds()
    train = h.drop_tasks(["a0", "b0"])
    spider = SpiderRanker(**{**STACKED, "epochs": 0}).fit(train, tokens)
    assert spider.stack_lambda_ >= 0.8
    assert len(spider.stack_taus_) == 11 and max(spider.stack_taus_) == spider.stack_taus_[round(spider.stack_lambda_ * 10)]
    for target in ("a0", "b0"):  # untrained: the stacked prior alone already ranks held-out tasks
        assert spider.score(TaskView(target, tokens[target], exclude=(target,)), h.wide()[target]) > 0.8
    trained = SpiderRanker(**STACKED).fit(train, tokens)
    assert trained.rank(TaskView("a0", tokens["a0"])).models[0] == "m7"
    assert trained.rank(TaskView("b0", tokens["b0"])).models[0] == "m0"


def test_stacked_prior_keeps_the_mean_where_neighbours_are_noise():
    """One order for every task: any single neighbour is a noisy copy of it, the mean over all is not."""
    h, tokens = one_order(noise=0.15)
    spider = SpiderRanker(**{**STACKED, "epochs": 0}).fit(h.drop_tasks(["t0"]), tokens)
    assert spider.stack_lambda_ <= 0.3
    board = LeaderboardRanker().fit(h.drop_tasks(["t0"]))
    view = TaskView("t0", tokens["t0"])
    lam0 = priors.prior_parts(tokens["t0"][None], np.zeros((1, len(spider.tasks_)), bool), spider.centroids_,
                              spider.train_scores_)[0][0]  # the mean part alone: λ = 0
    # λ = 0 is exactly the leaderboard order.
    assert list(np.argsort(-lam0)) == list(np.argsort(-board.predict(view).reindex(spider.models_).to_numpy()))


def test_stacked_prior_hides_excluded_tasks_and_round_trips(tmp_path):
    h, tokens = two_kinds()
    spider = SpiderRanker(**STACKED).fit(h, tokens)
    seen = spider.predict(TaskView("a0", tokens["a0"]))
    hidden = spider.predict(TaskView("a0", tokens["a0"], exclude=tuple(h.tasks)))  # nothing left to read
    assert not np.allclose(seen.to_numpy(), hidden.to_numpy())
    spider.encoder_ = {"name": "test-encoder", "n_prompts": 8, "seed": 0}
    spider.save(tmp_path / "s")
    loaded = SpiderRanker.load(tmp_path / "s")
    assert loaded.stack_lambda_ == spider.stack_lambda_ and loaded.get_params()["prior"] == "stacked"
    np.testing.assert_allclose(loaded.predict(TaskView("b1", tokens["b1"], exclude=("b1",))).to_numpy(),
                               spider.predict(TaskView("b1", tokens["b1"], exclude=("b1",))).to_numpy(), rtol=1e-6)
    with pytest.raises(SpiderError, match="prior='mean'"):
        spider.add_model("new", {"a1": 0.5, "a2": 0.5, "b1": 0.5}, tokens)
    with pytest.raises(SpiderError, match="memory=False"):
        SpiderRanker(prior="stacked")
    with pytest.raises(SpiderError, match="prior must be one of"):
        SpiderRanker(prior="median")


def test_a_reranking_spider_with_its_own_first_pass(tmp_path):
    """first_pass='own': ranking without probe tokens uses the state that ranked the validation tasks
    best without them (the untrained prior allowed); re-ranking uses the probe-trained state."""
    h, tokens = two_kinds(per_kind=8)
    extra = {t: {m: np.full((3, 4), float(i) / 8, np.float32) for i, m in enumerate(h.models)} for t in h.tasks}
    params = dict(STACKED, extra_dim=4, val_fraction=0.25, eval_every=1, patience=30, epochs=6)
    own = SpiderRanker(**params, first_pass="own").fit(h, tokens, extra_tokens=extra)
    shared = SpiderRanker(**params).fit(h, tokens, extra_tokens=extra)
    assert shared.first_net_ is None and "first_pass_epoch" not in shared.fit_log_
    log = own.fit_log_
    assert 0 <= log["first_pass_epoch"] <= log["epochs_run"] and log["best_epoch"] >= 1
    view = TaskView("a0", tokens["a0"], exclude=("a0",))
    plain = own.predict(view)
    with_probes = own.predict(TaskView("a0", tokens["a0"], {m: extra["a0"][m] for m in h.models[:2]}, ("a0",)))
    # The re-rank state is the shared Spider's (same seed, same training); only the first pass differs.
    np.testing.assert_allclose(with_probes.to_numpy(),
                               shared.predict(TaskView("a0", tokens["a0"], {m: extra["a0"][m] for m in h.models[:2]},
                                                       ("a0",))).to_numpy(), rtol=1e-5)
    if log["first_pass_epoch"] == 0:  # untrained: exactly the stacked prior
        prior = own.prior_rows(tokens["a0"][None], np.isin(own.tasks_, ["a0"])[None]).numpy()[0]
        np.testing.assert_allclose(plain.to_numpy(), prior, atol=1e-5)
    own.encoder_ = {"name": "test-encoder", "n_prompts": 8, "seed": 0}
    own.save(tmp_path / "own")
    loaded = SpiderRanker.load(tmp_path / "own")
    np.testing.assert_allclose(loaded.predict(view).to_numpy(), plain.to_numpy(), rtol=1e-6)
    with pytest.raises(SpiderError, match="first_pass='shared'"):
        SpiderRanker(**{**params, "prior": "mean", "memory": True}, first_pass="own").fit(h, tokens, extra_tokens=extra) \
            .add_model("new", {"a1": 0.5, "a2": 0.5, "b1": 0.5}, tokens)
    with pytest.raises(SpiderError, match="first_pass must be"):
        SpiderRanker(first_pass="separate")
