"""Ranking losses for training the Spider scorer.

The paper trains with the Plackett-Luce listwise loss: with the models sorted by their true score,
ℓ(t̂, t) = Σ_m −log(exp(t̂_m) / Σ_{l≥m} exp(t̂_l)). It is the negative log-likelihood of the true
order under a Plackett-Luce model with utilities t̂, so it cares most about getting the top right,
which is what weighted τ and top-1 regret reward. ListMLE is the same loss written for batches in
which some models have no score on a task (padding).
"""

from __future__ import annotations

import torch


def plackett_luce_loss(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """The paper's loss for one task with every model scored: ``pred``, ``truth`` of shape (n,)."""
    order = torch.argsort(truth, descending=True, stable=True)
    s = pred[order]
    # Σ_{l≥m} exp(s_l) for every m: a reversed cumulative log-sum-exp.
    tail = torch.logcumsumexp(s.flip(0), dim=0).flip(0)
    return (tail - s).sum()


def listmle_loss(pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor | None = None,
                 reduction: str = "mean") -> torch.Tensor:
    """Plackett-Luce loss over a batch of tasks, ignoring models without a score.

    ``pred``, ``truth``: (tasks, models); ``mask``: True where ``truth`` is known (default: not NaN).
    Unscored models are sorted last and excluded from every denominator. ``reduction`` "mean"
    averages over tasks the per-task loss divided by its number of scored models, so tasks with
    many missing models weigh the same as complete ones; "sum" returns the paper's plain sum.
    """
    if mask is None:
        mask = ~torch.isnan(truth)
    mask = mask.bool()
    key = torch.where(mask, truth, torch.full_like(truth, -torch.inf))
    order = torch.argsort(key, dim=1, descending=True, stable=True)
    s = torch.gather(pred, 1, order)
    m = torch.gather(mask, 1, order)
    s_masked = torch.where(m, s, torch.full_like(s, -torch.inf))
    tail = torch.logcumsumexp(s_masked.flip(1), dim=1).flip(1)
    terms = torch.where(m, tail - s, torch.zeros_like(s))
    per_task = terms.sum(dim=1)
    if reduction == "sum":
        return per_task.sum()
    counts = m.sum(dim=1).clamp(min=1)
    keep = m.any(dim=1)
    if not keep.any():
        return pred.sum() * 0.0
    return (per_task[keep] / counts[keep]).mean()


def pointwise_loss(pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over scored entries: keeps predictions on the scale of standardised scores,
    which the listwise loss alone leaves free (it is invariant to adding a constant per task)."""
    if mask is None:
        mask = ~torch.isnan(truth)
    diff = torch.where(mask, pred - torch.nan_to_num(truth), torch.zeros_like(pred))
    return (diff**2).sum() / mask.sum().clamp(min=1)
