"""Adaptive selection: evaluate items on the contenders until the pick is settled to a stated confidence.

Each member's accuracy on the task has a Beta posterior: a prior worth ``prior_strength`` items
centred on the ranker's estimate (a flat Beta(1, 1) without one), updated by the items evaluated so
far. With ``shift_var`` the centre moves by the task's common shift (selection/prior.py), whose
Gaussian posterior is read from every member's evaluated items and drawn once per sample, so the
members share it: evaluating the leader on a hard task lowers every unevaluated member's estimate.
Because a task has finitely many items, the posterior is of the accuracy on the whole task: the
items seen are known, only the rest are uncertain, so a member evaluated on every item is known
exactly.

Which member to evaluate next: top-two Thompson sampling (Russo 2016). Draw one accuracy per member
from the posteriors; the best draw is the leader; with probability ``beta`` evaluate it, else redraw
until another member leads and evaluate that challenger. Why this rule: it spends items on the two
likeliest winners and on nobody the posterior has already ruled out, it needs no tuning beyond
``beta`` (0.5 is optimal up to a factor 2 for any instance), and a strong prior simply means fewer
members are ever drawn as leader or challenger. Stop when P(pick within ``epsilon`` of the best) >=
``confidence`` (estimated from posterior draws), when the budget is spent, or when nothing is left
to evaluate.

On a cluster (``in_flight`` > 1) the loop keeps that many batches running: whenever one ends it
is folded into the posterior and the next is chosen from it while the others still run. Items in
flight are reserved (no member is asked an item twice) and count against the budget when asked
for; they are not evidence until they end. The stopping rule is judged on what has ended; when it
holds with batches still in flight, nothing more is asked and the loop waits for them (they are
paid for) and judges again, so a pick is only settled on every item it paid for. Why this rule
suits asynchrony: Thompson draws are random, so slots filled from one posterior still spread over
the contenders, and the price is only that each choice misses the outcomes still running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import betaln, expit

from llm_spider.errors import SpiderError
from llm_spider.selection.evaluators import ItemEvaluator

OUTLIER_ITEMS = 2.0  # an outlier's prior: centred like the rest, worth 2 items (nearly flat)
# Whether to stop is first judged on QUICK_SAMPLES posterior draws; only within QUICK_MARGIN of the
# confidence is it judged on all ``samples`` (the quick look's sd is about 0.01 near 0.95).
QUICK_SAMPLES, QUICK_MARGIN = 400, 0.05


@dataclass
class AdaptiveResult:
    """The pick and what is known of every candidate when selection stopped."""

    task: str
    pick: str
    p_good: float  # P(pick within epsilon of the best), from the posterior
    p_best: pd.Series  # per member: P(it is the best)
    mean: pd.Series  # posterior mean accuracy on the whole task
    low: pd.Series  # 95 % interval
    high: pd.Series
    evaluated: pd.Series  # items evaluated per member
    evaluations: int
    brute_force: int  # every candidate on every item
    stopped: str  # "confidence", "budget" or "exhausted"
    seconds: float
    notes: list[str] = field(default_factory=list)
    in_flight: int = 1  # batches kept running at once

    @property
    def cost_share(self) -> float:
        return self.evaluations / self.brute_force if self.brute_force else float("nan")

    def frame(self) -> pd.DataFrame:
        """One row per candidate, best posterior mean first."""
        df = pd.DataFrame({"model": self.mean.index, "p_best": self.p_best, "mean": self.mean, "low": self.low,
                           "high": self.high, "evaluated": self.evaluated}).reset_index(drop=True)
        return df.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)


def _prior_centre(prior: pd.Series | None, members: list[str], strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Each member's prior estimate and strength in items (0 where the prior knows nothing)."""
    mu = np.full(len(members), np.nan) if prior is None else prior.reindex(members).to_numpy(dtype=np.float64)
    known = np.isfinite(mu) & (strength > 0)
    return np.where(known, mu, 0.5), np.where(known, strength, 0.0)


def outlier_weight(centre: np.ndarray, s: np.ndarray, wins: np.ndarray, losses: np.ndarray,
                   share: float) -> np.ndarray:
    """Each member's posterior probability of being an outlier the prior does not describe (a
    specialist, or a member broken on this task): its items' likelihood under a nearly flat Beta
    around the same centre against under the prior's, weighed by the history's ``share`` of them."""
    if share <= 0:
        return np.zeros(len(centre))
    c = np.clip(centre, 0.01, 0.99)
    a_in, b_in = 1.0 + s * c, 1.0 + s * (1 - c)
    a_out, b_out = 1.0 + OUTLIER_ITEMS * c, 1.0 + OUTLIER_ITEMS * (1 - c)
    log_in = betaln(a_in + wins, b_in + losses) - betaln(a_in, b_in)
    log_out = betaln(a_out + wins, b_out + losses) - betaln(a_out, b_out)
    odds = np.log(share / (1 - share)) + log_out - log_in
    return np.where(s > 0, expit(odds), 0.0)


def shift_posterior(mu: np.ndarray, s: np.ndarray, wins: np.ndarray, losses: np.ndarray,
                    shift_var: float, outlier: np.ndarray | None = None) -> tuple[float, float]:
    """Mean and sd of the common shift given each informed member's observed accuracy (Gaussian,
    each member weighted by its residual variance plus its sampling noise, and by how likely it is
    to be no outlier)."""
    n = wins + losses
    used = (n > 0) & (s > 0)
    if not used.any():
        return 0.0, float(np.sqrt(shift_var))
    p = (wins[used] + 0.5) / (n[used] + 1.0)
    resid = mu[used] * (1 - mu[used]) / (s[used] + 1.0)
    w = 1.0 / (resid + p * (1 - p) / n[used])
    if outlier is not None:
        w = w * (1.0 - outlier[used])
    precision = float(w.sum()) + 1.0 / shift_var
    return float(np.sum(w * (wins[used] / n[used] - mu[used]))) / precision, float(np.sqrt(1.0 / precision))


def probe_order(evaluator: ItemEvaluator, task: str, seed: int) -> np.ndarray:
    """The task's items in the seeded order every selection method walks, so that at one seed all
    of them, adaptive or fixed, see the same first items."""
    items = np.asarray(evaluator.items(task))
    return items[np.random.default_rng(seed).permutation(len(items))]


def select_adaptive(evaluator: ItemEvaluator, task: str, candidates: list[str] | None = None,
                    prior: pd.Series | None = None, prior_strength: float = 0.0, shift_var: float | None = None,
                    outlier_share: float = 0.0, epsilon: float = 0.02, confidence: float = 0.95,
                    budget: int | None = None, batch: int = 4, beta: float = 0.5, samples: int = 2000,
                    seed: int = 0, on_step: Callable[[int, int, float, str], None] | None = None,
                    in_flight: int | None = None) -> AdaptiveResult:
    """Run adaptive selection of the best of ``candidates`` (default: every member) on ``task``.

    ``prior``: estimated accuracy per member (NaN or absent: flat); ``prior_strength``: what that
    estimate is worth, in items, around the estimate moved by the task's common shift when
    ``shift_var`` (its variance before any item) is given, with ``outlier_share`` of members the
    estimate does not describe (``outlier_weight``); ``budget``: the most evaluations to
    spend (default: brute force), batches in flight included; ``on_step(spent, budget, p_good, pick)``
    after each look (a live zoo's evaluations take seconds: the caller shows how far it is; a report
    traces the pick); ``in_flight``: batches kept running at once (default: the evaluator's
    ``slots``), the next chosen from what the finished ones say while the others run."""
    if not 0 < confidence < 1 or epsilon < 0 or batch < 1:
        raise SpiderError("need 0 < confidence < 1, epsilon >= 0 and batch >= 1")
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    members = list(candidates or evaluator.members)
    if len(members) < 2:
        raise SpiderError("selection needs at least two candidates")
    order = probe_order(evaluator, task, seed)  # one order of items, shared by every member
    n_items = len(order)
    m = len(members)
    mu, strength = _prior_centre(prior, members, prior_strength)
    shifted = shift_var is not None and shift_var > 0 and bool((strength > 0).any())
    wins, losses, seen, missing = (np.zeros(m) for _ in range(4))  # seen: evaluated items
    reserved = np.zeros(m)  # items asked for: evaluated or in flight
    pending: list[tuple[Future, int, int]] = []  # (outcomes, member, items) in the order asked
    slots = max(1, int(in_flight or evaluator.slots))
    brute = m * n_items
    budget = brute if budget is None else min(int(budget), brute)
    spent = 0  # evaluations asked for, those in flight included

    def posterior() -> tuple[float, float, np.ndarray]:
        """What the evaluated items say, fixed between evaluations (so computed once per evaluation,
        not per draw): the common shift's mean and sd, and each member's outlier weight."""
        if not shifted:
            return 0.0, 0.0, outlier_weight(mu, strength, wins, losses, outlier_share)
        shift, _ = shift_posterior(mu, strength, wins, losses, shift_var)
        out = outlier_weight(mu + shift, strength, wins, losses, outlier_share)
        shift, sd = shift_posterior(mu, strength, wins, losses, shift_var, out)
        return shift, sd, out

    def draws(n: int) -> np.ndarray:
        """(n, m) accuracies on the whole task: known items exactly, the rest from the posterior (the
        common shift drawn once per row, so the members share it)."""
        total = np.maximum(n_items - missing, 1.0)
        shift, sd, out = state
        centre = mu
        if shifted:
            centre = mu + rng.normal(shift, sd, size=(n, 1))
        centre = np.clip(centre, 0.01, 0.99)
        s = np.where(rng.random((n, m)) < out, np.minimum(strength, OUTLIER_ITEMS), strength)
        a, b = 1.0 + s * centre + wins, 1.0 + s * (1.0 - centre) + losses
        rest = rng.beta(a, b, size=(n, m))
        # The unseen items' outcomes, not only their rate: on a finite task the share right among
        # them varies around the rate (beta-binomial), by as much as epsilon on a few hundred items.
        unseen = np.broadcast_to(total - seen + missing, (n, m)).astype(np.int64)
        return (wins + rng.binomial(unseen, rest)) / total

    def choose(open_: np.ndarray) -> int:
        """Top-two Thompson sampling among the members with items left."""
        theta = draws(1)[0]
        theta[~open_] = -np.inf
        leader = int(np.argmax(theta))
        if rng.random() >= beta and open_.sum() > 1:
            for _ in range(100):
                again = draws(1)[0]
                again[~open_] = -np.inf
                if int(np.argmax(again)) != leader:
                    return int(np.argmax(again))
        return leader

    def settled(n: int) -> tuple[np.ndarray, np.ndarray, int, float]:
        sample = draws(n)
        mean = sample.mean(axis=0)
        pick = int(np.argmax(mean))
        return sample, mean, pick, float(np.mean(sample[:, pick] >= sample.max(axis=1) - epsilon))

    state = posterior()
    while True:
        open_ = reserved < n_items  # items left that are neither evaluated nor in flight
        # a cheap look first; the full sample only near the threshold or at the end
        sample, mean, pick, p_good = settled(min(QUICK_SAMPLES, samples))
        if p_good >= confidence - QUICK_MARGIN or spent >= budget or not open_.any():
            sample, mean, pick, p_good = settled(samples)
        if on_step is not None:
            on_step(spent, budget, p_good, members[pick])
        stopped = ("confidence" if p_good >= confidence else "budget" if spent >= budget
                   else "exhausted" if not open_.any() else "")
        if not stopped:
            chosen = choose(open_)
            k = int(min(batch, n_items - reserved[chosen], budget - spent))
            ids = order[int(reserved[chosen]):int(reserved[chosen]) + k]
            pending.append((evaluator.submit(members[chosen], task, ids), chosen, k))
            reserved[chosen] += k
            spent += k
            if len(pending) < slots:
                continue  # ask for the next batch while this one runs
        if not pending:
            break  # settled (or out of budget or items) on every batch asked for
        # Wait for the oldest finished batch (a recorded zoo's: the oldest asked), fold it in, look again.
        if not any(f.done() for f, _, _ in pending):
            wait([f for f, _, _ in pending], return_when=FIRST_COMPLETED)
        oldest = next(p for p in pending if p[0].done())
        pending.remove(oldest)
        fut, done_by, k = oldest
        out = fut.result()
        wins[done_by] += np.nansum(out)
        losses[done_by] += np.sum(out == 0)
        missing[done_by] += np.sum(np.isnan(out))
        seen[done_by] += k
        state = posterior()
    idx = pd.Index(members, name="model")
    p_best = np.bincount(sample.argmax(axis=1), minlength=m) / len(sample)
    notes = [f"{members[i]} had no answer on {int(missing[i])} of the items evaluated" for i in range(m) if missing[i]]
    return AdaptiveResult(task, members[pick], p_good, pd.Series(p_best, idx), pd.Series(mean, idx),
                          pd.Series(np.quantile(sample, 0.025, axis=0), idx),
                          pd.Series(np.quantile(sample, 0.975, axis=0), idx), pd.Series(seen.astype(int), idx),
                          spent, brute, stopped, time.perf_counter() - start, notes, slots)
