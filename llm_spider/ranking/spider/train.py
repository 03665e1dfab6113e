"""Training the Spider's net: listwise loss on history tasks and sampled mixtures, early stopping.

Why mixtures: a few dozen history tasks are few examples of "task → model order"; a mixture of 2..k
tasks (tokens drawn from the parts in proportion to their questions, truth the question-weighted
mean score) is a new, plausible task whose order is known, and it looks up the history without its
own parts, so the memory read-out is learned leave-one-out.

Why a first pass of its own (``first_pass="own"``): a re-ranking Spider's probe read-out starts at
zero, so it must train; training that path moves the whole net, and on a zoo with a couple of dozen
history tasks the first pass (ranking without probes) then drifts from its prior by noise the probes
never see. With "own" it keeps the state that ranked the validation tasks best without probe
tokens, the untrained one (its prior) included.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch

from llm_spider.metrics import weighted_tau
from llm_spider.ranking.losses import listmle_loss, pointwise_loss
from llm_spider.ranking.spider.priors import profile_rows, standardise

PROBE_LR_FACTOR = 10.0  # the direct probe read-out is a handful of weights: it learns this much faster


def task_sizes(tasks: Sequence[str]) -> np.ndarray:
    """Questions per task (1 where unknown): how mixtures weigh their parts."""
    from llm_spider.tasks import REGISTRY

    return np.array([REGISTRY.size(t) if t in REGISTRY else 1 for t in tasks], dtype=np.float64)


def stack_extra(per_task: list, index: dict[str, int], extra_dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Training tasks' PTM-specific tokens as (tasks, models, k, extra_dim) + mask, or None."""
    if not extra_dim or not any(per_task):
        return None
    k = max(len(a) for d in per_task if d for a in d.values())
    extra = np.zeros((len(per_task), len(index), k, extra_dim), np.float32)
    mask = np.zeros(extra.shape[:3], bool)
    for j, d in enumerate(per_task):
        for m, a in (d or {}).items():
            if m in index:
                a = np.atleast_2d(np.asarray(a, np.float32))
                extra[j, index[m], :len(a)], mask[j, index[m], :len(a)] = a, True
    return extra, mask


class SpiderTrainer:
    """Trains ``spider.net_`` in place on the history tasks' ``tokens`` (tasks, P, D) and, for a
    re-ranking Spider, their PTM-specific tokens ``extra`` (one ``{model: tokens}`` or None per task).

    ``fit(rng, on_epoch)`` returns the fit log; with ``first_pass="own"`` it also sets
    ``spider.first_net_``."""

    def __init__(self, spider, tokens: np.ndarray, extra: list):
        self.spider, self.tokens = spider, tokens
        self.extra = stack_extra(extra, spider.model_index_, spider.extra_dim)
        self.profile_sims = spider.profile_sims_

    def _extra_rows(self, idx: np.ndarray, n_mixtures: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The PTM-specific tokens of tasks ``idx`` followed by ``n_mixtures`` rows without any."""
        if self.extra is None:
            return None
        extra, mask = self.extra
        pad = np.zeros((n_mixtures, *extra.shape[1:]), np.float32)
        return np.concatenate([extra[idx], pad]), np.concatenate([mask[idx], pad[..., 0].astype(bool)])

    def _mixtures(self, rng: np.random.Generator, train_idx: np.ndarray, raw: np.ndarray, sizes: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sampled mixtures of training tasks. Returns tokens (n, P, D), z-scored truth (models, n)
        and which tasks each mixes (n, tasks)."""
        sp, tokens = self.spider, self.tokens
        n = sp.mixtures if len(train_idx) >= 2 else 0
        toks, truth = [], []
        parts_of = np.zeros((n, raw.shape[1]), bool)
        for i in range(n):
            size = int(rng.integers(2, min(sp.mixture_max, len(train_idx)) + 1))
            parts = rng.choice(train_idx, size=size, replace=False)
            w = sizes[parts] / sizes[parts].sum()
            pick = rng.choice(size, size=sp.n_tokens_, p=w)
            rows = rng.integers(0, sp.n_tokens_, size=sp.n_tokens_)
            toks.append(tokens[parts[pick], rows])
            truth.append(raw[:, parts] @ w)  # NaN wherever a part is unscored
            parts_of[i, parts] = True
        if not n:
            return np.zeros((0, *tokens.shape[1:]), np.float32), np.zeros((raw.shape[0], 0)), parts_of
        return np.stack(toks).astype(np.float32), standardise(np.stack(truth, axis=1))[0], parts_of

    @torch.no_grad()
    def _val_tau(self, idx: np.ndarray, exclude: np.ndarray, with_probes: bool = True) -> float:
        """Mean weighted τ on held-out tasks ``idx``, with and (if trained with them) without probe tokens."""
        profile = profile_rows(self.profile_sims, idx)
        tau = self._val_tau_once(idx, exclude, profile=profile)
        rows = self._extra_rows(idx, 0) if with_probes else None
        if rows is not None:
            tau = 0.5 * (tau + self._val_tau_once(idx, exclude, *map(torch.from_numpy, rows), profile=profile))
        return tau

    @torch.no_grad()
    def _val_tau_once(self, idx: np.ndarray, exclude: np.ndarray, extra=None, mask=None,
                      profile: np.ndarray | None = None) -> float:
        self.spider.net_.eval()
        raw = self.spider.train_scores_[:, idx]
        pred = self.spider.scores(self.tokens[idx], exclude, extra, mask, profile).T
        taus = []
        for j in range(raw.shape[1]):
            ok = ~np.isnan(raw[:, j])
            if ok.sum() >= 2:
                taus.append(weighted_tau(raw[ok, j], pred[ok, j]))
        tau = float(np.mean(taus)) if taus else np.nan
        return tau if np.isfinite(tau) else -np.inf  # constant predictions have no τ: worst

    def fit(self, rng: np.random.Generator, on_epoch: Callable[[int], None] | None = None) -> dict:
        sp, tokens = self.spider, self.tokens
        raw = sp.train_scores_
        z = standardise(raw)[0]
        sizes = task_sizes(sp.tasks_)
        n_tasks = len(sp.tasks_)
        order = rng.permutation(n_tasks)
        n_val = int(round(sp.val_fraction * n_tasks)) if n_tasks >= 5 and sp.val_fraction > 0 else 0
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        net = sp.net_
        models = torch.arange(len(sp.models_))
        params: list = [{"params": [p for n, p in net.named_parameters() if not n.startswith("probe_head.")]}]
        if net.probe_head is not None:
            params.append({"params": list(net.probe_head.parameters()), "lr": sp.lr * PROBE_LR_FACTOR})
        opt = torch.optim.AdamW(params, lr=sp.lr, weight_decay=sp.weight_decay)
        z_t = z.T.astype(np.float32)  # tasks × models
        itself = np.eye(n_tasks, dtype=bool)  # a historical task never looks up its own scores
        best = (-np.inf, 0, copy.deepcopy(net.state_dict()))
        # A re-ranking Spider must train: its probe read-out starts at zero, so the untrained state
        # is never kept as the best, however the few validation tasks happen to rank it.
        if n_val and self.extra is None:
            best = (self._val_tau(val_idx, itself[val_idx]), 0, best[2])
        own_first = n_val and self.extra is not None and sp.first_pass == "own"
        if own_first:
            best_plain = (self._val_tau(val_idx, itself[val_idx], with_probes=False), 0, best[2])
        stale, epoch = 0, 0
        if on_epoch is not None:
            on_epoch(0)
        for epoch in range(1, sp.epochs + 1):
            net.train()
            mix_tok, mix_z, mix_parts = self._mixtures(rng, train_idx, raw, sizes)
            all_tok = np.concatenate([tokens[train_idx], mix_tok])
            all_z = torch.from_numpy(np.concatenate([z_t[train_idx], mix_z.T.astype(np.float32)]))
            all_excl = np.concatenate([itself[train_idx], mix_parts])
            all_prof = profile_rows(self.profile_sims, train_idx, len(mix_tok))
            all_extra = self._extra_rows(train_idx, len(mix_tok))
            perm = rng.permutation(len(all_tok))
            for start in range(0, len(perm), sp.batch_tasks):
                b = perm[start:start + sp.batch_tasks]
                extra = extra_mask = None
                # Half the batches see the probe tokens: the Spider must rank without them (the
                # first pass) and re-rank with them.
                if all_extra is not None and rng.random() < 0.5:
                    extra, extra_mask = torch.from_numpy(all_extra[0][b]), torch.from_numpy(all_extra[1][b])
                prof = all_prof[b] if all_prof is not None else None
                pred = net(torch.from_numpy(all_tok[b]), models, sp.prior_rows(all_tok[b], all_excl[b], prof),
                           extra, extra_mask, memory=sp.memory_rows(all_tok[b], all_excl[b]))
                truth = all_z[b]
                mask = ~torch.isnan(truth)
                loss = listmle_loss(pred, truth, mask)
                if sp.pointwise_weight:
                    loss = loss + sp.pointwise_weight * pointwise_loss(pred, truth, mask)
                opt.zero_grad()
                loss.backward()
                opt.step()
            if on_epoch is not None:
                on_epoch(epoch)
            if n_val and epoch % sp.eval_every == 0:
                tau = self._val_tau(val_idx, itself[val_idx])
                if own_first:
                    plain = self._val_tau(val_idx, itself[val_idx], with_probes=False)
                    if plain > best_plain[0] + 1e-4:
                        best_plain = (plain, epoch, copy.deepcopy(net.state_dict()))
                if tau > best[0] + 1e-4:
                    best, stale = (tau, epoch, copy.deepcopy(net.state_dict())), 0
                else:
                    stale += 1
                    if stale >= sp.patience:
                        break
        if n_val:
            net.load_state_dict(best[2])
        net.eval()
        if own_first:
            sp.first_net_ = sp.build_net()
            sp.first_net_.load_state_dict(best_plain[2])
            sp.first_net_.eval()
        return {"epochs_run": epoch, "best_epoch": best[1] if n_val else epoch,
                "val_weighted_tau": float(best[0]) if n_val else None,
                **({"first_pass_epoch": best_plain[1], "first_pass_val_weighted_tau": float(best_plain[0])}
                   if own_first else {}),
                "train_tasks": int(len(train_idx)), "val_tasks": int(n_val)}
