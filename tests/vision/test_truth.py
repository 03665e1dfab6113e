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


def test_per_image_outcomes_average_the_repeated_cross_validations():
    from llm_spider.vision.truth import linear_probe_correct

    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 20)
    x = np.eye(3)[y] * 1.0 + rng.normal(size=(60, 3)) * 0.8  # overlapping classes: outcomes vary with the split
    once = linear_probe_correct(x, y)
    assert set(np.unique(once)) <= {0.0, 1.0} and once.mean() == linear_probe_accuracy(x, y)
    thrice = linear_probe_correct(x, y, repeats=3)
    assert set(np.round(np.unique(thrice) * 3, 6)) <= {0.0, 1.0, 2.0, 3.0}
    assert np.array_equal(thrice * 3 >= 1, thrice > 0)  # each image's share counts whole cross-validations
    assert 0 < np.mean((thrice > 0) & (thrice < 1))  # some images are right under one split, wrong under another
    assert linear_probe_accuracy(x, y, repeats=3) == pytest.approx(thrice.mean())


def test_heldout_truth_trains_on_one_set_and_scores_the_other():
    from llm_spider.vision.truth import heldout_correct

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 20)) * 4
    y_train, y_test = np.repeat(np.arange(3), 15), np.repeat([2, 0], 10)  # a test set need not have every class
    x_train = centres[y_train] + rng.normal(size=(45, 20))
    x_test = centres[y_test] + rng.normal(size=(20, 20))
    right = heldout_correct(x_train, y_train, x_test, y_test)
    assert right.shape == (20,) and right.mean() == 1.0
    assert heldout_correct(x_train, y_train, x_test, (y_test + 1) % 3).mean() == 0.0


def test_unseen_images_are_those_not_in_the_tasks_own_sample():
    from llm_spider.vision.zoo import unseen

    images = np.arange(5 * 4 * 4 * 3, dtype=np.uint8).reshape(5, 4, 4, 3)
    assert unseen(images[[1, 3]], images).tolist() == [True, False, True, False, True]
