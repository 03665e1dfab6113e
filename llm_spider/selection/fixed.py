"""Fixed-budget selection, the baselines adaptive selection is measured against: the paper's re-rank
(the prior's top ``k`` each run on ``n`` probe items, the pick read from prior and probes
together) and probes only (every candidate on the same ``n`` items, no prior).

Both walk the same seeded item order as ``select_adaptive``, so at one seed every method sees the
same first items of the task.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.selection.adaptive import probe_order, shift_posterior
from llm_spider.selection.evaluators import ItemEvaluator


def select_fixed(evaluator: ItemEvaluator, task: str, candidates: list[str], n: int, k: int | None = None,
                 prior: pd.Series | None = None, prior_strength: float = 0.0, shift_var: float | None = None,
                 seed: int = 0) -> tuple[str, pd.Series, int]:
    """Run the top ``k`` candidates by ``prior`` (all, when ``k`` is None) on the first ``n`` items.

    Returns the pick, every candidate's estimated accuracy (posterior mean: the prior moved by the
    learnt common shift, updated by the member's own probes; the probe accuracy alone without a
    prior) and the evaluations spent."""
    if n < 1 or (k is not None and k < 1):
        raise SpiderError("n and k must be at least 1")
    if k is not None and prior is None:
        raise SpiderError("re-ranking the top k needs a prior to take them from")
    order = probe_order(evaluator, task, seed)[:n]
    mu = (prior.reindex(candidates) if prior is not None else pd.Series(0.5, index=candidates)).astype(float)
    chosen = list(candidates) if k is None else list(mu.sort_values(ascending=False, kind="stable").index[:k])
    wins, losses = pd.Series(0.0, index=candidates), pd.Series(0.0, index=candidates)
    for m in chosen:
        out = evaluator.evaluate(m, task, order)
        wins[m], losses[m] = np.nansum(out), np.sum(out == 0)
    s = prior_strength if prior is not None else 0.0
    centre = mu.to_numpy()
    if prior is not None and shift_var:
        strength = np.full(len(candidates), s)
        centre = centre + shift_posterior(centre, strength, wins.to_numpy(), losses.to_numpy(), shift_var)[0]
    centre = np.clip(centre, 0.01, 0.99)
    mean = pd.Series((1.0 + s * centre + wins.to_numpy()) / (2.0 + s + wins.to_numpy() + losses.to_numpy()),
                     index=candidates)
    pool = mean[chosen] if prior is not None else mean
    return str(pool.idxmax()), mean, len(chosen) * len(order)
