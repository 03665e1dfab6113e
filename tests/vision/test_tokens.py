"""Image task tokens: class prototypes and the width-free PTM-specific statistics."""

from __future__ import annotations

import numpy as np

from llm_spider.vision.tokens import FEATURES, candidate_tokens, prototypes


def _task(signal: float, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), 10)
    centres = rng.normal(size=(3, dim))
    return signal * centres[y] + rng.normal(size=(30, dim)), y


def test_prototypes_are_unit_class_means():
    x, y = _task(3.0, 16)
    p = prototypes(x, y)
    assert p.shape == (3, 16) and np.allclose(np.linalg.norm(p, axis=1), 1.0)
    mean0 = x[y == 0].mean(axis=0)
    assert np.allclose(p[0], mean0 / np.linalg.norm(mean0), atol=1e-6)


def test_separable_features_score_higher_whatever_their_width():
    good = candidate_tokens(*_task(4.0, 64))
    bad = candidate_tokens(*_task(0.0, 512))  # wider but pure noise
    assert good.shape == (3, len(FEATURES)) and bad.shape == (3, len(FEATURES))
    col = {f: i for i, f in enumerate(FEATURES)}
    assert np.all(good[:, col["centroid_acc"]] == 1.0) and np.all(good[:, col["nn1_acc"]] == 1.0)
    for f in ("centroid_acc", "nn1_acc", "margin", "logme"):
        assert good[:, col[f]].mean() > bad[:, col[f]].mean(), f
    assert np.all(good[:, col["has_head"]] == 0) and np.all(good[:, col["source_entropy"]] == 1)


def test_source_head_confidence_is_read_when_there_is_one():
    x, y = _task(2.0, 8)
    sure = np.tile([0.97, 0.01, 0.01, 0.01], (30, 1))
    flat = np.full((30, 4), 0.25)
    col = FEATURES.index("source_entropy")
    assert candidate_tokens(x, y, sure)[0, col] < 0.2 < candidate_tokens(x, y, flat)[0, col] == 1.0
    assert candidate_tokens(x, y, sure)[0, FEATURES.index("has_head")] == 1.0



def test_estimator_tokens_add_the_probe_estimates_and_are_standardised_across_candidates():
    from llm_spider.vision.tokens import PROBE_ESTIMATORS, STANDARDISED, TOKEN_SETS, standardise_across

    names = TOKEN_SETS["estimators"]
    good = candidate_tokens(*_task(4.0, 64), token_set="estimators")
    bad = candidate_tokens(*_task(0.0, 64, seed=1), token_set="estimators")
    assert good.shape == (3, len(names)) and names[:len(FEATURES)] == FEATURES
    assert np.allclose(good[:, :len(FEATURES)], candidate_tokens(*_task(4.0, 64)))  # the statistics unchanged
    nce = names.index("nce")
    assert np.isnan(good[:, nce]).all()  # no source head: NCE does not apply
    for f in ("gbc", "lfc"):  # (PACTran on 30 probes barely tells these two apart)
        assert good[0, names.index(f)] > bad[0, names.index(f)], f
    assert np.isfinite(good[:, names.index("pactran")]).all()
    z = standardise_across({"good": good, "bad": bad})
    cols = [names.index(c) for c in STANDARDISED]
    assert np.allclose(z["good"][:, cols[0]], 1.0) and np.allclose(z["bad"][:, cols[0]], -1.0)  # logme
    assert np.allclose(z["good"][:, nce], 0.0) and np.allclose(z["bad"][:, nce], 0.0)  # missing: the mean
    others = [i for i in range(len(names)) if i not in cols]
    assert np.array_equal(z["good"][:, others], good[:, others])
    assert len(PROBE_ESTIMATORS) == len(names) - len(FEATURES)
    plain = {"a": candidate_tokens(*_task(4.0, 64))}
    assert standardise_across(plain) is plain  # the statistics token set is read as it is
