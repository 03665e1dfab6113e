"""A new model joins a fitted Spider without retraining: fit its θ_m from a few of its scores.

Why: retraining on every new model would make a zoo expensive to grow. The net is frozen; only the
new model's token and its prior are fitted so that, on the history tasks it was scored on, it lands
where its scores put it among the others (the same listwise + pointwise loss as training).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from llm_spider.errors import SpiderError
from llm_spider.ranking.losses import listmle_loss
from llm_spider.ranking.spider.priors import fixed_length, standardise


def add_model(spider, name: str, scores: Mapping[str, float], tasks: Mapping[str, np.ndarray],
              steps: int = 200, lr: float = 0.05) -> dict:
    """Append ``name`` to ``spider`` from ``scores`` (task → score on the history's scale) and the
    token sets ``tasks`` of those tasks. Returns the tasks used and the fit error (in z units)."""
    if name in spider.model_index_:
        raise SpiderError(f"model '{name}' is already in the zoo")
    if spider.prior != "mean":
        raise SpiderError("add_model fits a new model's leaderboard-mean prior: it needs a Spider with prior='mean'")
    if spider.first_net_ is not None:
        raise SpiderError("add_model fits one net: it needs a Spider with first_pass='shared'")
    used = [t for t in scores if t in spider.tasks_ and np.isfinite(scores[t])]
    unknown = [t for t in scores if t not in spider.tasks_]
    if len(used) < 3:
        raise SpiderError(f"need scores on at least 3 of the Spider's training tasks, got {len(used)}"
                          + (f" (not training tasks: {', '.join(unknown[:5])})" if unknown else ""))
    missing = [t for t in used if t not in tasks]
    if missing:
        raise SpiderError(f"token sets missing for task(s): {', '.join(missing)}")
    check_scale(spider.train_scores_, {t: scores[t] for t in used})
    cols = np.array([spider.tasks_.index(t) for t in used])
    z_all, mu, sd = standardise(spider.train_scores_)
    z_new = (np.array([scores[t] for t in used]) - mu[cols]) / sd[cols]
    toks = np.stack([fixed_length(np.asarray(tasks[t], np.float32), spider.n_tokens_) for t in used])
    itself = np.zeros((len(used), len(spider.tasks_)), bool)
    itself[np.arange(len(used)), cols] = True
    net = spider.net_.eval()
    with torch.no_grad():
        others = torch.tensor(spider.scores(toks, itself), dtype=torch.float32)  # (tasks, models)
        truth_others = torch.tensor(z_all[:, cols].T, dtype=torch.float32)
    for p in net.parameters():
        p.requires_grad_(False)
    theta = nn.Parameter(net.theta.detach().mean(0, keepdim=True).clone())
    prior = nn.Parameter(torch.tensor([float(z_new.mean())]))
    opt = torch.optim.Adam([theta, prior], lr=lr)
    row = np.full((1, len(spider.tasks_)), np.nan)
    row[0, cols] = z_new
    target = torch.tensor(z_new, dtype=torch.float32)
    truth = torch.cat([truth_others, target[:, None]], dim=1)
    for _ in range(steps):
        memory = spider.memory_rows(toks, itself, z=row, prior=prior)
        mine = net(torch.from_numpy(toks), torch.zeros(1, dtype=torch.long), prior, theta=theta, memory=memory)
        pred = torch.cat([others, mine], dim=1)
        loss = listmle_loss(pred, truth) + spider.pointwise_weight * ((mine[:, 0] - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    for p in net.parameters():
        p.requires_grad_(True)
    with torch.no_grad():
        net.theta = nn.Parameter(torch.cat([net.theta.detach(), theta.detach()]))
    spider.models_ = [*spider.models_, name]
    spider.prior_ = np.append(spider.prior_, float(prior.detach()))
    new_row = np.full((1, len(spider.tasks_)), np.nan)
    new_row[0, cols] = [scores[t] for t in used]
    spider.train_scores_ = np.vstack([spider.train_scores_, new_row])
    spider.added_models_ = [*spider.added_models_, {"model": name, "scores": {t: float(scores[t]) for t in used}}]
    # The zoo's own models, scored the same way on the same tasks: what a fit error is to be read against.
    sq = (others.numpy() - truth_others.numpy()) ** 2
    scored = ~np.isnan(sq)
    own = np.sqrt(np.where(scored, sq, 0).sum(0)[scored.any(0)] / scored.sum(0)[scored.any(0)])
    return {"model": name, "tasks_used": used, "ignored_tasks": unknown,
            "fit_rmse_z": float(((mine.detach()[:, 0] - target) ** 2).mean().sqrt()),
            "zoo_rmse_z": float(np.nanmedian(own))}


def check_scale(history: np.ndarray, given: Mapping[str, float]) -> None:
    """Refuse scores on another scale than the history's: percentages against accuracies would put
    the new model tens of standard deviations above every other (a predicted 348 on a 0-1 task)."""
    lo, hi = float(np.nanmin(history)), float(np.nanmax(history))
    outside = {t: v for t, v in given.items() if not lo - 0.5 * (hi - lo) <= v <= hi + 0.5 * (hi - lo)}
    if not outside:
        return
    shown = ", ".join(f"{t} {v:g}" for t, v in list(outside.items())[:3])
    pct = " (they look like percentages: divide them by 100)" if hi <= 1 and all(1 < v <= 100 for v in outside.values()) else ""
    raise SpiderError(f"scores off the history's scale ({lo:.3g} to {hi:.3g}): {shown}{pct}")
