"""The linear-probe ground truth on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from llm_spider.vision.truth import linear_probe_accuracy, stratified_folds


def test_folds_partition_and_stratify():
    y = np.repeat([0, 1, 2], [10, 20, 30])
    folds = stratified_folds(y, 5)
    assert sorted(np.concatenate(folds).tolist()) == list(range(60))
    for f in folds:
        assert list(np.bincount(y[f], minlength=3)) == [2, 4, 6]


def test_separable_features_are_learned_and_noise_is_chance():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    good = np.eye(4)[y] * 3 + rng.normal(size=(120, 4)) * 0.3
    noise = rng.normal(size=(120, 16))
    assert linear_probe_accuracy(good, y) == 1.0
    assert linear_probe_accuracy(noise, y) == pytest.approx(0.25, abs=0.15)


def test_probe_needs_two_classes():
    with pytest.raises(ValueError, match="two classes"):
        linear_probe_accuracy(np.zeros((5, 2)), np.zeros(5))
