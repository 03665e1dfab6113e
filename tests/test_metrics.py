import numpy as np
import pytest
from scipy import stats

from llm_spider import datasets
from llm_spider.metrics import (
    evaluate_ranking,
    kendall_tau,
    ndcg_at_k,
    top1_hit,
    top1_regret,
    weighted_tau,
)


def test_weighted_tau_perfect_and_reversed():
    truth = [0.9, 0.7, 0.5, 0.3]
    assert weighted_tau(truth, [4, 3, 2, 1]) == pytest.approx(1.0)
    assert weighted_tau(truth, [1, 2, 3, 4]) == pytest.approx(-1.0)


def test_weighted_tau_is_the_papers_call_and_weights_by_truth():
    truth = np.array([0.9, 0.8, 0.5, 0.2, 0.1])
    pred = np.array([0.8, 0.9, 0.5, 0.1, 0.2])
    assert weighted_tau(truth, pred) == pytest.approx(stats.weightedtau(truth, pred, rank=None).statistic)
    # Swapping the two best models costs more than swapping the two worst (hyperbolic weights).
    swap_top = weighted_tau(truth, [0.8, 0.9, 0.5, 0.2, 0.1])
    swap_bottom = weighted_tau(truth, [0.9, 0.8, 0.5, 0.1, 0.2])
    assert swap_top < swap_bottom < 1.0


def test_weighted_tau_hand_computed_three_models():
    # truth ranks a > b > c; pred swaps b and c. Hyperbolic weights 1/(r+1) by truth rank r = 0, 1, 2.
    # Pairs: (a,b) concordant, weight w0+w1; (a,c) concordant, w0+w2; (b,c) discordant, w1+w2.
    w = [1.0, 1 / 2, 1 / 3]
    conc = (w[0] + w[1]) + (w[0] + w[2])
    disc = w[1] + w[2]
    expected = (conc - disc) / (conc + disc)
    assert weighted_tau([3, 2, 1], [3, 1, 2]) == pytest.approx(expected)


def test_kendall_tau_hand_computed():
    # One discordant pair out of three: (2 - 1) / 3.
    assert kendall_tau([3, 2, 1], [3, 1, 2]) == pytest.approx(1 / 3)


def test_top1_regret_and_hit():
    truth = [0.50, 0.70, 0.60]
    assert top1_regret(truth, [0.9, 0.1, 0.2]) == pytest.approx(0.20)
    assert top1_hit(truth, [0.9, 0.1, 0.2]) == 0.0
    assert top1_regret(truth, [0.1, 0.9, 0.2]) == 0.0
    assert top1_hit(truth, [0.1, 0.9, 0.2]) == 1.0
    # A tie for first place counts its worst member.
    assert top1_regret(truth, [0.9, 0.9, 0.2]) == pytest.approx(0.20)


def test_ndcg_hand_computed():
    truth = [3.0, 2.0, 1.0, 0.0]  # gains after shifting by the minimum: 3, 2, 1, 0
    assert ndcg_at_k(truth, [4, 3, 2, 1], k=2) == pytest.approx(1.0)
    dcg = 2 / np.log2(2) + 3 / np.log2(3)  # the second-best model ranked first, then the best
    ideal = 3 / np.log2(2) + 2 / np.log2(3)
    assert ndcg_at_k(truth, [3, 4, 2, 1], k=2) == pytest.approx(dcg / ideal)


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        weighted_tau([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        weighted_tau([1.0], [1.0])
    with pytest.raises(ValueError):
        top1_regret([1.0, np.nan], [1.0, 2.0])


def test_evaluate_ranking_has_every_metric():
    rec = evaluate_ranking([0.1, 0.5, 0.3], [0.2, 0.6, 0.1])
    assert set(rec) == {"weighted_tau", "kendall_tau", "top1_regret", "top1_hit", "ndcg@5"}


@pytest.mark.parametrize("estimator, published", [("LogME", 0.676), ("NCE", 0.666), ("H-Score", 0.648)])
def test_model_spider_published_baselines(estimator, published):
    """Recompute the paper's vision baseline table from its published scores (8 datasets), read
    through the data layer from the data folder's vision/model_spider_published/."""
    acc = datasets.load("vision_published/finetune_accuracy")
    scores = datasets.load("vision_published/transferability_scores")
    merged = scores.merge(acc, on=["Dataset", "Model"])
    per_dataset = [weighted_tau(g["Finetuned"], g[estimator]) for _, g in merged.groupby("Dataset")]
    assert len(per_dataset) == 8
    assert np.mean(per_dataset) == pytest.approx(published, abs=0.02)


def test_paired_bootstrap_interval_covers_the_mean_and_separates_a_clear_lead():
    from llm_spider.metrics import paired_bootstrap

    mean, low, high = paired_bootstrap([0.1, -0.1, 0.05, -0.05, 0.0, 0.02])
    assert low < mean < high and low < 0 < high  # a lead inside the noise
    mean, low, high = paired_bootstrap([0.10, 0.12, 0.08, 0.11, 0.09, 0.10])
    assert mean == pytest.approx(0.1) and 0.08 <= low < high <= 0.12
    assert paired_bootstrap([1.0, 2.0, 3.0], seed=1) == paired_bootstrap([1.0, 2.0, 3.0], seed=1)
    with pytest.raises(ValueError, match="at least two"):
        paired_bootstrap([0.1])
