"""The transferability estimators on small cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from llm_spider.vision.estimators.gbc import gbc
from llm_spider.vision.estimators.hscore import h_score
from llm_spider.vision.estimators.leep import leep
from llm_spider.vision.estimators.lfc import lfc
from llm_spider.vision.estimators.logme import logme
from llm_spider.vision.estimators.nce import nce
from llm_spider.vision.estimators.nleep import n_leep
from llm_spider.vision.estimators.otce import ot_coupling, otce
from llm_spider.vision.estimators.pactran import pactran


def _blobs(separation: float, n: int = 120, d: int = 8, classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n // classes)
    centres = rng.normal(size=(classes, d)) * separation
    return centres[y] + rng.normal(size=(len(y), d)), y


@pytest.mark.parametrize("score", [h_score, logme, lfc, gbc, n_leep, pactran])
def test_label_aligned_features_score_higher(score):
    good, y = _blobs(4.0)
    bad, _ = _blobs(0.0)
    assert score(good, y) > score(bad, y)


def test_logme_evidence_rises_as_features_align_with_labels():
    values = [logme(*_blobs(sep)) for sep in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert values == sorted(values)


def test_h_score_by_hand():
    # 1-d features, two classes with means ±1 and no within-class spread: cov(g) = cov(f) → H = 1
    f = np.array([[-1.0], [-1.0], [1.0], [1.0]])
    assert h_score(f, [0, 0, 1, 1], shrinkage=0) == pytest.approx(1.0)
    # within-class spread halves the explained share: values ±1 ± 1 → var(f) = 2, var(g) = 1
    f = np.array([[-2.0], [0.0], [0.0], [2.0]])
    assert h_score(f, [0, 0, 1, 1], shrinkage=0) == pytest.approx(0.5)


def test_leep_equals_its_closed_form_on_a_two_class_toy():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.2, 0.8]])
    y = np.array([0, 0, 1, 1])
    joint = np.zeros((2, 2))
    for p, label in zip(probs, y):
        joint[label] += p / 4
    cond = joint / joint.sum(axis=0)
    expected = np.mean([np.log(cond[label] @ p) for p, label in zip(probs, y)])
    assert leep(probs, y) == pytest.approx(expected)
    # a source head that already separates the target classes beats one that does not
    assert leep(probs, y) > leep(np.full((4, 2), 0.5), y)


def test_nce_is_zero_when_source_classes_determine_target_labels():
    probs = np.eye(3)[[0, 0, 1, 1, 2, 2]]
    assert nce(probs, [1, 1, 0, 0, 1, 1]) == pytest.approx(0.0)
    assert nce(np.eye(2)[[0, 0, 0, 0]], [0, 1, 0, 1]) == pytest.approx(np.log(0.5))


def test_lfc_is_one_for_a_label_kernel():
    y = np.array([0, 0, 1, 1])
    f = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert lfc(f, y) == pytest.approx(1.0)


def test_gbc_is_minus_pairs_count_for_identical_classes():
    f, _ = _blobs(0.0, n=400, d=2, classes=2, seed=1)
    y = np.tile([0, 1], 200)  # same distribution for both classes: BC ≈ 1 for each ordered pair
    assert gbc(f, y) == pytest.approx(-2.0, abs=0.05)


def test_one_class_and_bad_shapes_are_refused():
    f, y = _blobs(1.0)
    with pytest.raises(ValueError, match="two target classes"):
        logme(f, np.zeros(len(y)))
    with pytest.raises(ValueError, match="features must be"):
        h_score(f[:10], y)
    with pytest.raises(ValueError, match="probability distributions"):
        leep(np.ones((len(y), 3)), y)


def test_logme_is_the_maximum_marginal_likelihood():
    """LogME's fixed point maximises log N(t | 0, I/β + F Fᵀ/α) per class column: a brute-force
    grid over (α, β) must not beat it, and must come close."""
    f, y = _blobs(1.0, n=30, d=3, classes=2, seed=3)
    grid = np.exp(np.linspace(-6, 6, 121))
    best = []
    for k in (0, 1):
        t = (y == k).astype(float)
        top = -np.inf
        for a in grid:
            for b in grid:
                cov = np.eye(len(t)) / b + f @ f.T / a
                sign, logdet = np.linalg.slogdet(cov)
                ll = -0.5 * (len(t) * np.log(2 * np.pi) + logdet + t @ np.linalg.solve(cov, t))
                top = max(top, ll)
        best.append(top / len(t))
    value = logme(f, y)
    assert value >= np.mean(best) - 1e-6
    assert value == pytest.approx(np.mean(best), abs=5e-3)


def test_pactran_bound_is_at_least_the_training_loss_and_tightens_with_signal():
    """-PACTran is an upper bound on the fitted head's loss, so it is ≥ its cross-entropy; with
    more separable classes both the loss and the bound fall."""
    vals = [pactran(*_blobs(sep)) for sep in (0.0, 1.0, 4.0)]
    assert vals == sorted(vals)
    f, y = _blobs(0.0)
    assert -pactran(f, y) > 0.9 * np.log(3)  # unlearnable labels: about chance-level cross-entropy


def test_ot_coupling_is_a_transport_plan_and_exact_on_a_permutation():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 3))
    perm = rng.permutation(12)
    plan = ot_coupling(a, a[perm])
    assert np.allclose(plan.sum(axis=0), 1 / 12) and np.allclose(plan.sum(axis=1), 1 / 12)
    assert np.allclose(plan[perm, np.arange(12)], 1 / 12)  # each point goes to its own copy
    soft = ot_coupling(a, a[:8], reg=0.05)  # unequal sizes: entropic plan, marginals still hold
    assert np.allclose(soft.sum(axis=1), 1 / 12, atol=1e-6) and np.allclose(soft.sum(axis=0), 1 / 8, atol=1e-6)


def test_otce_is_zero_when_source_labels_determine_target_labels():
    f, ys = _blobs(5.0, n=60, d=4, classes=3, seed=2)
    perm = np.random.default_rng(1).permutation(len(ys))
    yt = (ys[perm] + 1) % 3  # a relabelling of the same samples
    assert otce(f, ys, f[perm], yt) == pytest.approx(0.0, abs=1e-12)
    shuffled = np.random.default_rng(2).permutation(yt)
    assert otce(f, ys, f[perm], shuffled) < -0.5  # labels unrelated to the source: high entropy


def test_logme_stays_finite_with_fewer_samples_than_dimensions():
    """Real backbones give 1,280-d features for a few hundred images: the zero-variance directions
    must not let the noise precision diverge."""
    rng = np.random.default_rng(0)
    f = rng.normal(size=(40, 200)) @ rng.normal(size=(200, 300))  # rank 40 < d
    y = np.repeat(np.arange(4), 10)
    assert np.isfinite(logme(f, y))
    aligned = f + 30 * np.eye(4)[y] @ rng.normal(size=(4, 300))
    assert logme(aligned, y) > logme(f, y)


def test_h_score_does_not_saturate_with_more_dimensions_than_images():
    # 1280-d features of 150 images: the plain score is C-1 = 2 for signal and noise alike
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    scores = []
    for separation in (0.0, 0.3, 1.0):
        f = rng.normal(size=(3, 1280))[y] * separation + rng.normal(size=(150, 1280))
        assert h_score(f, y, shrinkage=0) == pytest.approx(2.0)
        scores.append(h_score(f, y))
    assert scores == sorted(scores) and scores[0] < 0.5 < 1.5 < scores[2]


def test_ledoit_wolf_weight_is_small_for_plenty_of_samples_and_large_for_few():
    from llm_spider.vision.estimators.hscore import ledoit_wolf_shrinkage

    rng = np.random.default_rng(0)
    scales = np.linspace(0.5, 3.0, 10)
    many = rng.normal(size=(5000, 10)) * scales
    few = rng.normal(size=(20, 400))
    assert 0.0 <= ledoit_wolf_shrinkage(many - many.mean(0)) < 0.05
    assert 0.8 < ledoit_wolf_shrinkage(few - few.mean(0)) <= 1.0
