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

