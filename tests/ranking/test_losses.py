import math

import pytest
import torch

from llm_spider.ranking.losses import listmle_loss, plackett_luce_loss, pointwise_loss


def hand_pl(scores_in_true_order):
    """Σ_m −log(exp(s_m) / Σ_{l≥m} exp(s_l)), written out."""
    total = 0.0
    for m in range(len(scores_in_true_order)):
        tail = sum(math.exp(s) for s in scores_in_true_order[m:])
        total -= math.log(math.exp(scores_in_true_order[m]) / tail)
    return total


def test_plackett_luce_matches_hand_computation():
    pred = torch.tensor([0.5, 2.0, -1.0])
    truth = torch.tensor([0.9, 0.1, 0.5])  # true order: model 0, model 2, model 1
    expected = hand_pl([0.5, -1.0, 2.0])
    assert plackett_luce_loss(pred, truth).item() == pytest.approx(expected, rel=1e-6)
    # two models: −log σ(s_best − s_other)
    two = plackett_luce_loss(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0])).item()
    assert two == pytest.approx(math.log(1 + math.exp(-1.0)), rel=1e-6)


def test_correct_order_costs_less_than_reversed():
    truth = torch.tensor([3.0, 2.0, 1.0, 0.0])
    good = plackett_luce_loss(truth * 2, truth)
    bad = plackett_luce_loss(-truth * 2, truth)
    assert good < bad


def test_listmle_sum_equals_paper_loss_and_ignores_padding():
    pred = torch.tensor([[0.5, 2.0, -1.0, 7.0], [1.0, 0.0, 0.3, -2.0]])
    truth = torch.tensor([[0.9, 0.1, 0.5, float("nan")], [0.2, 0.4, 0.3, 0.1]])
    got = listmle_loss(pred, truth, reduction="sum").item()
    expected = hand_pl([0.5, -1.0, 2.0]) + hand_pl([0.0, 0.3, 1.0, -2.0])
    assert got == pytest.approx(expected, rel=1e-6)
    # The padded model's prediction has no effect at all.
    pred2 = pred.clone()
    pred2[0, 3] = -100.0
    assert listmle_loss(pred2, truth, reduction="sum").item() == pytest.approx(got, rel=1e-6)
    # mean: per-task loss divided by the number of scored models, averaged over tasks
    mean = listmle_loss(pred, truth).item()
    assert mean == pytest.approx((hand_pl([0.5, -1.0, 2.0]) / 3 + hand_pl([0.0, 0.3, 1.0, -2.0]) / 4) / 2, rel=1e-6)


def test_listmle_has_gradients_only_for_scored_models():
    pred = torch.zeros(1, 3, requires_grad=True)
    truth = torch.tensor([[1.0, float("nan"), 0.0]])
    listmle_loss(pred, truth).backward()
    assert pred.grad[0, 1] == 0
    assert pred.grad[0, 0] < 0 < pred.grad[0, 2]  # push the best up, the worst down


def test_pointwise_is_mse_over_known_entries():
    pred = torch.tensor([[1.0, 2.0, 3.0]])
    truth = torch.tensor([[1.0, float("nan"), 5.0]])
    assert pointwise_loss(pred, truth).item() == pytest.approx(2.0)
