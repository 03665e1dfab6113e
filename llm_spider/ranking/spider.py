"""Model Spider (Zhang et al., NeurIPS 2023): learned model tokens and a transformer scorer.

Each model of the zoo is a learnable vector θ_m. A task is the set of its general tokens (prompt
embeddings) projected into the same space. A small transformer lets θ_m attend over
[θ_m ; task tokens] (and, for re-ranking, the model's own PTM-specific tokens) and reads off the
fitness of the pair. It is trained with the paper's Plackett-Luce listwise loss on historical
tasks and on sampled mixtures of them, so it learns which models are strong on which kinds of
task rather than one order for all.

Why the scorer is a residual over the leaderboard mean (``residual=True``): LLM abilities are
highly correlated across tasks, so the mean score is a strong prior; the transformer starts at
exactly that ranking (its head is zero-initialised) and learns only the task-dependent part.

Why a history memory (``memory=True``): with a few dozen historical tasks, a transformer that
maps prompt embeddings to model orders overfits them (measured: it does not beat the leaderboard
mean on held-out tasks). Reading the history itself generalises better: the task attends over
the historical tasks (cosine of prompt centroids, learned temperature) and takes each model's
standardised score there, relative to its mean. A null slot wins when no historical task is
close, so a task unlike the history (BBH ranked from MMLU) falls back to the prior instead of
extrapolating. During training each task looks up every historical task but itself (a mixture:
but its parts), so the read-out is learned leave-one-out. ``benchmarks/spider_ablation.py``
measures what each part buys.

Why a stacked prior (``prior="stacked"``): with a dozen models and a
couple of dozen history tasks, the memory's four scalars barely move in training and early
stopping on three validation tasks often keeps epoch 0, so the Spider stays the leaderboard mean
even where the neighbouring tasks predict the order better. The stacked prior blends the two
history estimates per task with one weight chosen by leave-one-out on the history, and the
transformer learns its residual (``benchmarks/spider_small_zoos.py``).

Why a leaderboard-profile similarity (``similarity="mixed"``, with ``prior="similar"`` used by the
live zoos): on those small zoos the stacking mostly decides *whether* the encoder's neighbours can
be trusted. Tasks that order public LLMs alike (the shipped leaderboard table, the zoo's own models
left out) are better neighbours than tasks whose prompts read alike; with that similarity mixed into
the encoder's, the neighbours beat the leaderboard mean on both task regimes of the bench, so the
blend has nothing left to choose and the prior is the similar-tasks estimate itself.

Only the model token's position is read out, so the attention is computed for that query alone
(the task tokens are first mixed among themselves by ``task_layers`` encoder layers shared by all
models): this is the same function as a full transformer layer over [θ_m ; task tokens] with a
read-out at θ_m, at a fraction of the cost.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from llm_spider.baselines.similar_tasks import SIMILARITIES, similar_estimate
from llm_spider.encoders.profile import LeaderboardProfile, mix_similarity
from llm_spider.errors import SpiderError
from llm_spider.metrics import weighted_tau
from llm_spider.ranking.base import Ranker, TaskView
from llm_spider.ranking.losses import listmle_loss, pointwise_loss
from llm_spider.zoo.history import History

CHECKPOINT_FORMAT = "llm-spider.spider"
CHECKPOINT_VERSION = 1
WEIGHTS_FILE, CONFIG_FILE = "spider.safetensors", "spider.json"
PROBE_LR_FACTOR = 10.0
PRIORS = ("mean", "stacked", "similar")
HISTORY_PRIORS = ("stacked", "similar")  # priors that read the history per task
STACK_GRID = np.linspace(0.0, 1.0, 11)


class SpiderNet(nn.Module):
    """θ_m tokens + a task-token encoder + one model→[model; task; extra] attention read-out."""

    def __init__(self, n_models: int, token_dim: int, dim: int = 64, heads: int = 4, task_layers: int = 1,
                 extra_dim: int = 0, dropout: float = 0.1, null_similarity: float = 0.9, zero_head: bool = True):
        super().__init__()
        if dim % heads:
            raise SpiderError(f"dim ({dim}) must be a multiple of heads ({heads})")
        self.dim, self.heads = dim, heads
        self.theta = nn.Parameter(torch.randn(n_models, dim) * 0.1)
        self.token_proj = nn.Sequential(nn.Linear(token_dim, dim), nn.LayerNorm(dim))
        self.task_encoder = None
        if task_layers:
            layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
            self.task_encoder = nn.TransformerEncoder(layer, task_layers, enable_nested_tensor=False)
        self.extra_proj = nn.Sequential(nn.Linear(extra_dim, dim), nn.LayerNorm(dim)) if extra_dim else None
        # Direct read-out of the mean PTM-specific features (zero-initialised, like the head): with a
        # few dozen training tasks a linear path learns "the gold option's probability matters"
        # from far fewer examples than the attention path does.
        self.probe_head = nn.Linear(extra_dim, 1) if extra_dim else None
        if self.probe_head is not None:
            nn.init.zeros_(self.probe_head.weight)
            nn.init.zeros_(self.probe_head.bias)
        self.norm_q = nn.LayerNorm(dim)
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.drop = nn.Dropout(dropout)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.norm_out = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 1)
        if zero_head:  # a residual scorer starts exactly at its prior
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        self.prior_scale = nn.Parameter(torch.tensor(1.0))
        # History memory: attention from the task to the historical tasks (cosine of prompt
        # centroids, learned temperature) plus a null slot, whose logit wins when no historical
        # task is close: the read-out then falls back to the prior instead of extrapolating.
        self.log_temperature = nn.Parameter(torch.tensor(math.log(0.1)))
        self.null_similarity = nn.Parameter(torch.tensor(float(null_similarity)))
        self.memory_gain = nn.Parameter(torch.tensor(1.0))

    def encode_tasks(self, tokens: torch.Tensor) -> torch.Tensor:
        """(tasks, prompts, token_dim) → (tasks, prompts, dim)."""
        t = self.token_proj(tokens)
        return self.task_encoder(t) if self.task_encoder is not None else t

    def memory_readout(self, sim: torch.Tensor, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(T, J) similarities, (M, J) score deviations, (T, M, J) usable → (T, M) read-out."""
        temp = self.log_temperature.exp()
        logits = ((sim - 1.0) / temp).unsqueeze(1).expand(-1, values.shape[0], -1)
        logits = logits.masked_fill(~mask, -torch.inf)
        null = ((self.null_similarity - 1.0) / temp).expand(*logits.shape[:2], 1)
        w = torch.softmax(torch.cat([logits, null], dim=-1), dim=-1)[..., :-1]
        return self.memory_gain * (w * values.unsqueeze(0)).sum(-1)

    def forward(self, tokens: torch.Tensor, models: torch.Tensor, prior: torch.Tensor | None = None,
                extra: torch.Tensor | None = None, extra_mask: torch.Tensor | None = None,
                theta: torch.Tensor | None = None, memory: tuple | None = None) -> torch.Tensor:
        """Scores of shape (tasks, models).

        ``tokens``: (T, P, token_dim) general task tokens; ``models``: (M,) indices into θ;
        ``prior``: (M,) standardised leaderboard means, or (T, M) a per-task prior (residual mode); ``extra``: (T, M, K, extra_dim)
        PTM-specific tokens with ``extra_mask`` (T, M, K) True where present; ``theta``: replaces
        the rows of θ (used to fit one new model with the rest frozen); ``memory``: the arguments of
        :meth:`memory_readout`.
        """
        task = self.encode_tasks(tokens)  # (T, P, d)
        x = self.theta[models] if theta is None else theta  # (M, d)
        T, M, H, dh = task.shape[0], x.shape[0], self.heads, self.dim // self.heads
        xn = self.norm_q(x)
        q = self.q(xn).view(M, H, dh) / math.sqrt(dh)
        k_self, v_self = self.k(xn).view(M, H, dh), self.v(xn).view(M, H, dh)
        k_task = self.k(task).view(T, -1, H, dh)
        v_task = self.v(task).view(T, -1, H, dh)
        logits = [torch.einsum("mhd,mhd->mh", q, k_self).expand(T, M, H).unsqueeze(-1),
                  torch.einsum("mhd,tphd->tmhp", q, k_task)]
        values = None
        if extra is not None:
            if self.extra_proj is None:
                raise SpiderError("this Spider was built without PTM-specific tokens (extra_dim=0)")
            e = self.extra_proj(extra)  # (T, M, K, d)
            k_extra = self.k(e).view(T, M, -1, H, dh)
            v_extra = self.v(e).view(T, M, -1, H, dh)
            le = torch.einsum("mhd,tmkhd->tmhk", q, k_extra)
            if extra_mask is not None:
                le = le.masked_fill(~extra_mask.bool().unsqueeze(2), -torch.inf)
            logits.append(le)
            values = v_extra
        w = self.drop(torch.softmax(torch.cat(logits, dim=-1), dim=-1))  # (T, M, H, 1 + P [+ K])
        P = k_task.shape[1]
        out = w[..., :1] * v_self.unsqueeze(0) + torch.einsum("tmhp,tphd->tmhd", w[..., 1:1 + P], v_task)
        if values is not None:
            out = out + torch.einsum("tmhk,tmkhd->tmhd", w[..., 1 + P:], values)
        h = x.unsqueeze(0) + self.drop(self.o(out.reshape(T, M, self.dim)))
        h = h + self.drop(self.ffn(self.norm_ffn(h)))
        score = self.head(self.norm_out(h)).squeeze(-1)
        if prior is not None:
            score = score + self.prior_scale * (prior.unsqueeze(0) if prior.dim() == 1 else prior)
        if extra is not None:
            m = extra_mask.float() if extra_mask is not None else torch.ones(extra.shape[:3])
            pooled = (extra * m.unsqueeze(-1)).sum(2) / m.sum(2).clamp(min=1).unsqueeze(-1)  # (T, M, E)
            score = score + self.probe_head(pooled).squeeze(-1) * (m.sum(2) > 0)
        if memory is not None:
            score = score + self.memory_readout(*memory)
        return score


def _fixed_length(tokens: np.ndarray, n: int) -> np.ndarray:
    """Exactly ``n`` rows (cycling when a task has fewer prompts), so tasks stack into one batch."""
    idx = np.arange(n) % len(tokens)
    return tokens[idx]


def _centroids(tokens: np.ndarray) -> np.ndarray:
    """(tasks, P, D) → unit-norm mean token per task: what the memory compares tasks by."""
    c = tokens.mean(axis=1)
    return (c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _zscore(x: np.ndarray) -> np.ndarray:
    """Standardised across models; 0 where unknown (no evidence either way)."""
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.zeros_like(x, dtype=np.float64)
    sd = x[ok].std()
    return np.where(ok, (x - x[ok].mean()) / (sd if sd > 1e-12 else 1.0), 0.0)


def _standardise(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-task z-scores over the models scored on it (columns = tasks); returns z, mean, sd."""
    with np.errstate(invalid="ignore"):
        mu = np.nanmean(raw, axis=0)
        sd = np.nanstd(raw, axis=0)
    sd = np.where(np.isfinite(sd) & (sd > 1e-8), sd, 1.0)
    return (raw - mu) / sd, mu, sd


class SpiderRanker(Ranker):
    """The Spider as an estimator: ``fit`` on a history and task tokens, ``predict`` per task.

    Hyper-parameters: the transformer's ``dim``/``heads``/``task_layers``; training ``epochs`` (an
    upper bound: early stopping on ``val_fraction`` of the training tasks ends it sooner; 0 keeps
    the initialisation, for ablations), ``lr``, ``weight_decay``, ``dropout``, ``batch_tasks``;
    ``mixtures`` sampled per epoch of 2..``mixture_max`` tasks each; ``pointwise_weight`` of the
    MSE term beside the listwise loss; ``residual`` over the leaderboard mean; ``memory`` (the
    history read-out) and its initial ``null_similarity``; ``extra_dim`` the width of
    PTM-specific tokens (0: none); ``prior``: what the residual starts from, ``"mean"`` (the
    leaderboard mean), ``"stacked"`` (a per-task blend of the leaderboard mean and the
    similar-tasks estimate, see :meth:`_stack`; for zoos with few history tasks) or ``"similar"``
    (the similar-tasks estimate alone); ``similarity`` of a history prior: ``"encoder"`` (cosine of
    prompt centroids) or ``"mixed"`` (with the tasks' leaderboard profiles, encoders/profile.py);
    ``first_pass``
    of a re-ranking Spider: ``"shared"`` ranks without probe tokens with the state chosen for
    re-ranking, ``"own"`` with the state that ranked the validation tasks best without them (the
    untrained one allowed), see :meth:`_train`.
    """

    name = "spider"
    needs_task_tokens = True
    _on_epoch = None  # a hook for watching training (experiments, progress bars)

    def __init__(self, dim: int = 64, heads: int = 4, task_layers: int = 1, epochs: int = 12,
                 lr: float = 3e-3, weight_decay: float = 1e-2, dropout: float = 0.3, batch_tasks: int = 16,
                 mixtures: int = 32, mixture_max: int = 4, pointwise_weight: float = 0.5,
                 residual: bool = True, memory: bool = True, val_fraction: float = 0.15, patience: int = 3,
                 eval_every: int = 2, null_similarity: float = 0.9, extra_dim: int = 0, prior: str = "mean",
                 first_pass: str = "shared", similarity: str = "encoder", random_state: int = 0):
        if prior not in PRIORS:
            raise SpiderError(f"prior must be one of {', '.join(PRIORS)}, got {prior!r}")
        if first_pass not in ("shared", "own"):
            raise SpiderError(f"first_pass must be 'shared' or 'own', got {first_pass!r}")
        if prior in HISTORY_PRIORS and memory:
            raise SpiderError(f"prior={prior!r} already reads the history; use it with memory=False")
        if similarity not in SIMILARITIES:
            raise SpiderError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {similarity!r}")
        if similarity != "encoder" and prior not in HISTORY_PRIORS:
            raise SpiderError(f"similarity={similarity!r} is how the prior finds similar tasks: it needs "
                              f"prior={' or '.join(map(repr, HISTORY_PRIORS))}")
        self.dim, self.heads, self.task_layers = dim, heads, task_layers
        self.epochs, self.lr, self.weight_decay, self.dropout = epochs, lr, weight_decay, dropout
        self.batch_tasks, self.mixtures, self.mixture_max = batch_tasks, mixtures, mixture_max
        self.pointwise_weight, self.residual, self.memory = pointwise_weight, residual, memory
        self.val_fraction, self.patience, self.eval_every = val_fraction, patience, eval_every
        self.null_similarity, self.extra_dim, self.random_state = null_similarity, extra_dim, random_state
        self.prior, self.first_pass, self.similarity = prior, first_pass, similarity

    # --- training ------------------------------------------------------------------------------
    def fit(self, history: History, tasks: Mapping[str, np.ndarray] | None = None,
            extra_tokens: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> SpiderRanker:
        """``extra_tokens[task][model]``: PTM-specific tokens (k × extra_dim) of history tasks, for
        a Spider that re-ranks (``extra_dim > 0``); tasks or models without them train without."""
        if extra_tokens and not self.extra_dim:
            raise SpiderError("PTM-specific tokens given, but this Spider has extra_dim=0")
        self._train_extra = extra_tokens or {}
        return super().fit(history, tasks)

    def _fit(self, history: History, tasks: dict[str, np.ndarray]) -> None:
        usable = [t for t in history.tasks if t in tasks]
        if not usable:
            raise SpiderError("spider needs token sets for the history's tasks; none of the "
                              f"{len(history.tasks)} history tasks is a known task with prompts")
        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        wide = history.wide()
        self.tasks_ = usable
        self.train_scores_ = wide[usable].to_numpy(dtype=np.float64)  # models × tasks, NaN = unscored
        self.prior_ = self._prior(wide.mean(axis=1).to_numpy(dtype=np.float64))
        self.n_tokens_ = max(len(tasks[t]) for t in usable)
        self.token_dim_ = int(tasks[usable[0]].shape[1])
        tokens = np.stack([_fixed_length(np.asarray(tasks[t], np.float32), self.n_tokens_) for t in usable])
        self.centroids_ = _centroids(tokens)
        self._set_profile()
        if self.prior == "stacked":
            self.stack_lambda_, self.stack_taus_ = self._stack()
        elif self.prior == "similar":
            self.stack_lambda_, self.stack_taus_ = 1.0, []
        self.net_ = self._build_net(len(self.models_))
        self.first_net_ = None
        self.train_extra_ = self._stack_extra([getattr(self, "_train_extra", {}).get(t) for t in usable])
        self.fit_log_ = self._train(tokens, rng)

    def _prior(self, means: np.ndarray) -> np.ndarray:
        """Standardised leaderboard means (0 where a model has none), the residual's starting point."""
        if not self.residual:
            return np.zeros_like(means)
        ok = np.isfinite(means)
        if not ok.any():
            return np.zeros_like(means)
        sd = means[ok].std() or 1.0
        return np.where(ok, (means - means[ok].mean()) / sd, 0.0)

    def _set_profile(self) -> None:
        """With ``similarity="mixed"``: the history tasks' leaderboard profiles (the zoo's own
        models left out of them) and their pairwise similarities."""
        self.profile_ = LeaderboardProfile(self.models_) if self.similarity == "mixed" else None
        self.profile_sims_ = self.profile_.matrix(self.tasks_) if self.profile_ is not None else None

    def _profile_rows(self, idx: np.ndarray, n_unnamed: int = 0) -> np.ndarray | None:
        """Profile similarities of history tasks ``idx`` to every history task, then ``n_unnamed``
        rows of NaN (mixtures, which have no profile: they fall back to the encoder)."""
        if getattr(self, "profile_sims_", None) is None:
            return None
        return np.concatenate([self.profile_sims_[idx], np.full((n_unnamed, len(self.tasks_)), np.nan)])

    def _prior_parts(self, tokens: np.ndarray, exclude: np.ndarray, profile: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Per task (T, M) each: the standardised mean score over the history tasks it may see, and
        the standardised similar-tasks estimate from them. ``profile`` (T, tasks): leaderboard-profile
        similarities to mix into the encoder's (NaN: unknown)."""
        sims = mix_similarity(_centroids(tokens) @ self.centroids_.T, profile)
        mean, near = np.zeros((2, len(tokens), len(self.models_)))
        for i in range(len(tokens)):
            scores = np.where(exclude[i][None, :], np.nan, self.train_scores_)
            with np.errstate(invalid="ignore"):
                m = np.nanmean(scores, axis=1) if (~np.isnan(scores)).any() else np.full(len(scores), np.nan)
            mean[i] = _zscore(m)
            near[i] = _zscore(similar_estimate(scores, np.where(exclude[i], -np.inf, sims[i])))
        return mean, near

    def _task_prior(self, tokens: np.ndarray, exclude: np.ndarray, lam: float | None = None,
                    profile: np.ndarray | None = None) -> np.ndarray:
        """(T, M) stacked prior: ``(1 - λ)`` × the mean part + ``λ`` × the similar-tasks part."""
        mean, near = self._prior_parts(tokens, exclude, profile)
        lam = self.stack_lambda_ if lam is None else lam
        return (1 - lam) * mean + lam * near

    def _stack(self) -> tuple[float, list[float]]:
        """Choose λ by leave-one-out on the history: each task ranked from all the others, the λ with
        the best mean weighted τ (ties: the smaller, closer to the leaderboard mean).

        Why: whether a task's nearest neighbours say more about it than the overall mean depends on
        the zoo (measured: on small zoos cut from the leaderboard table the mean wins on the live
        task set and the neighbours win on random task sets, by a few points of τ either way). One
        scalar is well determined by a couple of dozen held-out tasks; a transformer is not, so it
        learns only the residual over this choice."""
        n = len(self.tasks_)
        if n < 2:
            return 0.0, []
        # Each history task as a one-prompt batch of its centroid, hiding only itself.
        mean, near = self._prior_parts(self.centroids_[:, None, :], np.eye(n, dtype=bool), self._profile_rows(np.arange(n)))
        taus = []
        for j in range(n):
            ok = ~np.isnan(self.train_scores_[:, j])
            if ok.sum() >= 2:
                truth = self.train_scores_[ok, j]
                taus.append([weighted_tau(truth, ((1 - lam) * mean[j] + lam * near[j])[ok]) for lam in STACK_GRID])
        if not taus:
            return 0.0, []
        taus = np.mean(taus, axis=0)
        return float(STACK_GRID[int(np.argmax(taus))]), [round(float(t), 4) for t in taus]

    def _prior_rows(self, tokens: np.ndarray, exclude: np.ndarray, profile: np.ndarray | None = None) -> torch.Tensor:
        """The residual's starting point for a batch of tasks: (M,) or, read from the history, (T, M)."""
        if self.prior in HISTORY_PRIORS:
            return torch.tensor(self._task_prior(tokens, exclude, profile=profile), dtype=torch.float32)
        return torch.tensor(self.prior_, dtype=torch.float32)

    def _build_net(self, n_models: int) -> SpiderNet:
        return SpiderNet(n_models, self.token_dim_, self.dim, self.heads, self.task_layers, self.extra_dim,
                         self.dropout, self.null_similarity, zero_head=self.residual or self.memory)

    def _task_sizes(self) -> np.ndarray:
        from llm_spider.tasks import REGISTRY

        return np.array([REGISTRY.size(t) if t in REGISTRY else 1 for t in self.tasks_], dtype=np.float64)

    def _mixtures(self, rng: np.random.Generator, train_idx: np.ndarray, tokens: np.ndarray,
                  raw: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sampled mixtures of training tasks: tokens drawn from the parts in proportion to their
        questions, truth the question-weighted mean score of models scored on every part.
        Returns tokens (n, P, D), z-scored truth (models, n) and which tasks each mixes (n, tasks)."""
        n = self.mixtures if len(train_idx) >= 2 else 0
        toks, truth = [], []
        parts_of = np.zeros((n, raw.shape[1]), bool)
        for i in range(n):
            size = int(rng.integers(2, min(self.mixture_max, len(train_idx)) + 1))
            parts = rng.choice(train_idx, size=size, replace=False)
            w = sizes[parts] / sizes[parts].sum()
            pick = rng.choice(size, size=self.n_tokens_, p=w)
            rows = rng.integers(0, self.n_tokens_, size=self.n_tokens_)
            toks.append(tokens[parts[pick], rows])
            truth.append(raw[:, parts] @ w)  # NaN wherever a part is unscored
            parts_of[i, parts] = True
        if not n:
            return np.zeros((0, *tokens.shape[1:]), np.float32), np.zeros((raw.shape[0], 0)), parts_of
        return np.stack(toks).astype(np.float32), _standardise(np.stack(truth, axis=1))[0], parts_of

    def _memory(self, tokens: np.ndarray, exclude: np.ndarray, z: np.ndarray | None = None,
                prior: torch.Tensor | None = None) -> tuple | None:
        """The memory read-out's inputs for a batch of tasks; ``exclude`` (batch, tasks) marks the
        historical tasks each one may not look up (itself, or a mixture's parts). ``z`` (models ×
        tasks, NaN = unscored) and ``prior`` default to the zoo's; ``add_model`` passes the new
        model's, with a prior that is being fitted."""
        if not self.memory:
            return None
        sim = torch.from_numpy(_centroids(tokens) @ self.centroids_.T).float()
        if z is None:
            z = _standardise(self.train_scores_)[0]
        known = ~np.isnan(z)
        if prior is None:  # float64 difference, then float32, as the shipped checkpoint was trained
            values = torch.tensor(np.where(known, z - self.prior_[:, None], 0.0), dtype=torch.float32)
        else:
            values = torch.where(torch.from_numpy(known), torch.tensor(np.nan_to_num(z), dtype=torch.float32)
                                 - prior[:, None], 0.0)
        mask = torch.from_numpy(known[None, :, :] & ~exclude[:, None, :])
        return sim, values, mask

    def _train(self, tokens: np.ndarray, rng: np.random.Generator) -> dict:
        raw = self.train_scores_
        z = _standardise(raw)[0]
        sizes = self._task_sizes()
        n_tasks = len(self.tasks_)
        order = rng.permutation(n_tasks)
        n_val = int(round(self.val_fraction * n_tasks)) if n_tasks >= 5 and self.val_fraction > 0 else 0
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        net = self.net_
        models = torch.arange(len(self.models_))
        params: list = [{"params": [p for n, p in net.named_parameters() if not n.startswith("probe_head.")]}]
        if net.probe_head is not None:  # the direct probe read-out is a handful of weights: learn them faster
            params.append({"params": list(net.probe_head.parameters()), "lr": self.lr * PROBE_LR_FACTOR})
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        z_t = z.T.astype(np.float32)  # tasks × models
        itself = np.eye(n_tasks, dtype=bool)  # a historical task never looks up its own scores
        best = (-np.inf, 0, copy.deepcopy(net.state_dict()))
        # A re-ranking Spider must train: its probe read-out starts at zero, so the untrained state
        # is never kept as the best, however the few validation tasks happen to rank it.
        if n_val and self.train_extra_ is None:
            best = (self._val_tau(tokens[val_idx], raw[:, val_idx], itself[val_idx], val_idx), 0, best[2])
        # Its first pass need not pay for that: with first_pass="own" it keeps the state that ranked
        # the validation tasks best without probe tokens, the untrained one (its prior) included.
        # Why: training the probe path moves the whole net, and on a zoo with a couple of dozen
        # history tasks the first pass then drifts from its prior by noise the probes never see.
        own_first = n_val and self.train_extra_ is not None and self.first_pass == "own"
        if own_first:
            best_plain = (self._val_tau_once(tokens[val_idx], raw[:, val_idx], itself[val_idx],
                                             profile=self._profile_rows(val_idx)), 0, best[2])
        stale, epoch = 0, 0
        if self._on_epoch is not None:
            self._on_epoch(0)
        for epoch in range(1, self.epochs + 1):
            net.train()
            mix_tok, mix_z, mix_parts = self._mixtures(rng, train_idx, tokens, raw, sizes)
            all_tok = np.concatenate([tokens[train_idx], mix_tok])
            all_z = torch.from_numpy(np.concatenate([z_t[train_idx], mix_z.T.astype(np.float32)]))
            all_excl = np.concatenate([itself[train_idx], mix_parts])
            all_prof = self._profile_rows(train_idx, len(mix_tok))
            all_extra = self._extra_rows(train_idx, len(mix_tok))
            perm = rng.permutation(len(all_tok))
            for start in range(0, len(perm), self.batch_tasks):
                b = perm[start:start + self.batch_tasks]
                extra = extra_mask = None
                # Half the batches see the probe tokens: the Spider must rank without them (the
                # first pass) and re-rank with them.
                if all_extra is not None and rng.random() < 0.5:
                    extra, extra_mask = torch.from_numpy(all_extra[0][b]), torch.from_numpy(all_extra[1][b])
                prof = all_prof[b] if all_prof is not None else None
                pred = net(torch.from_numpy(all_tok[b]), models, self._prior_rows(all_tok[b], all_excl[b], prof), extra, extra_mask,
                           memory=self._memory(all_tok[b], all_excl[b]))
                truth = all_z[b]
                mask = ~torch.isnan(truth)
                loss = listmle_loss(pred, truth, mask)
                if self.pointwise_weight:
                    loss = loss + self.pointwise_weight * pointwise_loss(pred, truth, mask)
                opt.zero_grad()
                loss.backward()
                opt.step()
            if self._on_epoch is not None:
                self._on_epoch(epoch)
            if n_val and epoch % self.eval_every == 0:
                tau = self._val_tau(tokens[val_idx], raw[:, val_idx], itself[val_idx], val_idx)
                if own_first:
                    plain = self._val_tau_once(tokens[val_idx], raw[:, val_idx], itself[val_idx],
                                               profile=self._profile_rows(val_idx))
                    if plain > best_plain[0] + 1e-4:
                        best_plain = (plain, epoch, copy.deepcopy(net.state_dict()))
                if tau > best[0] + 1e-4:
                    best, stale = (tau, epoch, copy.deepcopy(net.state_dict())), 0
                else:
                    stale += 1
                    if stale >= self.patience:
                        break
        if n_val:
            net.load_state_dict(best[2])
        net.eval()
        if own_first:
            self.first_net_ = self._build_net(len(self.models_))
            self.first_net_.load_state_dict(best_plain[2])
            self.first_net_.eval()
        return {"epochs_run": epoch, "best_epoch": best[1] if n_val else epoch,
                "val_weighted_tau": float(best[0]) if n_val else None,
                **({"first_pass_epoch": best_plain[1], "first_pass_val_weighted_tau": float(best_plain[0])}
                   if own_first else {}),
                "train_tasks": int(len(train_idx)), "val_tasks": int(n_val)}

    def _stack_extra(self, per_task: list) -> tuple[np.ndarray, np.ndarray] | None:
        """Training tasks' PTM-specific tokens as (tasks, models, k, extra_dim) + mask, or None."""
        if not self.extra_dim or not any(per_task):
            return None
        index = self.model_index_
        k = max(len(a) for d in per_task if d for a in d.values())
        extra = np.zeros((len(per_task), len(self.models_), k, self.extra_dim), np.float32)
        mask = np.zeros(extra.shape[:3], bool)
        for j, d in enumerate(per_task):
            for m, a in (d or {}).items():
                if m in index:
                    a = np.atleast_2d(np.asarray(a, np.float32))
                    extra[j, index[m], :len(a)], mask[j, index[m], :len(a)] = a, True
        return extra, mask

    def _extra_rows(self, idx: np.ndarray, n_mixtures: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The PTM-specific tokens of tasks ``idx`` followed by ``n_mixtures`` rows without any."""
        if getattr(self, "train_extra_", None) is None:
            return None
        extra, mask = self.train_extra_
        pad = np.zeros((n_mixtures, *extra.shape[1:]), np.float32)
        return np.concatenate([extra[idx], pad]), np.concatenate([mask[idx], pad[..., 0].astype(bool)])

    @torch.no_grad()
    def _val_tau(self, tokens: np.ndarray, raw: np.ndarray, exclude: np.ndarray, idx=None) -> float:
        """Mean weighted τ on held-out tasks, with and (if trained with them) without probe tokens."""
        profile = self._profile_rows(idx) if idx is not None else None
        tau = self._val_tau_once(tokens, raw, exclude, profile=profile)
        rows = self._extra_rows(idx, 0) if idx is not None else None
        if rows is not None:
            tau = 0.5 * (tau + self._val_tau_once(tokens, raw, exclude, *map(torch.from_numpy, rows), profile=profile))
        return tau

    @torch.no_grad()
    def _val_tau_once(self, tokens: np.ndarray, raw: np.ndarray, exclude: np.ndarray, extra=None, mask=None,
                      profile: np.ndarray | None = None) -> float:
        self.net_.eval()
        pred = self._scores(tokens, exclude, extra, mask, profile).T
        taus = []
        for j in range(raw.shape[1]):
            ok = ~np.isnan(raw[:, j])
            if ok.sum() >= 2:
                taus.append(weighted_tau(raw[ok, j], pred[ok, j]))
        tau = float(np.mean(taus)) if taus else np.nan
        return tau if np.isfinite(tau) else -np.inf  # constant predictions have no τ: worst

    def _scores(self, tokens: np.ndarray, exclude: np.ndarray, extra=None, extra_mask=None,
                profile: np.ndarray | None = None) -> np.ndarray:
        prior = self._prior_rows(tokens, exclude, profile)
        first = getattr(self, "first_net_", None)
        net = first if extra is None and first is not None else self.net_
        out = net(torch.from_numpy(tokens), torch.arange(len(self.models_)), prior, extra, extra_mask,
                        memory=self._memory(tokens, exclude))
        return out.numpy().astype(np.float64)

    # --- prediction ----------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, task: TaskView) -> pd.Series:
        if task.tokens is None:
            raise SpiderError(f"spider needs the token set of task '{task.name}'")
        tokens = np.asarray(task.tokens, dtype=np.float32)
        if tokens.ndim != 2 or tokens.shape[1] != self.token_dim_:
            raise SpiderError(f"task '{task.name}' tokens have shape {tokens.shape}; this Spider expects "
                              f"(n, {self.token_dim_}) from the encoder it was trained with")
        extra, mask = self._extra(task, tokens)
        self.net_.eval()
        exclude = np.isin(self.tasks_, list(task.exclude))[None, :]
        profile = self.profile_.similarity(task.name, self.tasks_)[None] if getattr(self, "profile_", None) is not None else None
        pred = self._scores(tokens[None], exclude, extra, mask, profile)[0]
        # θ of a model never scored on a task with tokens was never trained: it cannot be ranked.
        known = ~np.isnan(self.train_scores_).all(axis=1)
        return pd.Series(np.where(known, pred, np.nan), index=self.models_, name=task.name)

    def _extra(self, task: TaskView, tokens: np.ndarray) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Per-model PTM-specific tokens, padded to one tensor; models without any are masked out."""
        if not task.extra_tokens:
            return None, None
        if not self.extra_dim:
            raise SpiderError("this Spider was trained without PTM-specific tokens (extra_dim=0)")
        unknown = [m for m in task.extra_tokens if m not in set(self.models_)]
        if unknown:
            raise SpiderError(f"PTM-specific tokens for model(s) not in this Spider's zoo: {', '.join(unknown[:5])}")
        arrays = {m: np.atleast_2d(np.asarray(a, np.float32)) for m, a in task.extra_tokens.items()}
        bad = [m for m, a in arrays.items() if a.shape[1] != self.extra_dim]
        if bad:
            raise SpiderError(f"PTM-specific tokens of {bad[0]} have width {arrays[bad[0]].shape[1]}, expected {self.extra_dim}")
        k = max(len(a) for a in arrays.values())
        extra = np.zeros((1, len(self.models_), k, self.extra_dim), np.float32)
        mask = np.zeros((1, len(self.models_), k), bool)
        index = self.model_index_
        for m, a in arrays.items():
            extra[0, index[m], :len(a)], mask[0, index[m], :len(a)] = a, True
        # A model without extra tokens still attends over itself and the task tokens.
        return torch.from_numpy(extra), torch.from_numpy(mask)

    @property
    def model_index_(self) -> dict[str, int]:
        return {m: i for i, m in enumerate(self.models_)}

    # --- a new model without retraining ---------------------------------------------------------
    def add_model(self, name: str, scores: Mapping[str, float], tasks: Mapping[str, np.ndarray],
                  steps: int = 200, lr: float = 0.05) -> dict:
        """Fit θ for one new model from its scores on a few history tasks, everything else frozen.

        ``scores``: task → score on the history's scale; ``tasks``: token sets of those tasks.
        Returns a small report (tasks used, fit error). The model then ranks like any other.
        """
        if name in self.model_index_:
            raise SpiderError(f"model '{name}' is already in the zoo")
        if self.prior != "mean":
            raise SpiderError("add_model fits a new model's leaderboard-mean prior: it needs a Spider with prior='mean'")
        if getattr(self, "first_net_", None) is not None:
            raise SpiderError("add_model fits one net: it needs a Spider with first_pass='shared'")
        used = [t for t in scores if t in self.tasks_ and np.isfinite(scores[t])]
        unknown = [t for t in scores if t not in self.tasks_]
        if len(used) < 3:
            raise SpiderError(f"need scores on at least 3 of the Spider's training tasks, got {len(used)}"
                              + (f" (not training tasks: {', '.join(unknown[:5])})" if unknown else ""))
        missing = [t for t in used if t not in tasks]
        if missing:
            raise SpiderError(f"token sets missing for task(s): {', '.join(missing)}")
        cols = np.array([self.tasks_.index(t) for t in used])
        z_all, mu, sd = _standardise(self.train_scores_)
        z_new = (np.array([scores[t] for t in used]) - mu[cols]) / sd[cols]
        toks = np.stack([_fixed_length(np.asarray(tasks[t], np.float32), self.n_tokens_) for t in used])
        itself = np.zeros((len(used), len(self.tasks_)), bool)
        itself[np.arange(len(used)), cols] = True
        net = self.net_.eval()
        with torch.no_grad():
            others = torch.tensor(self._scores(toks, itself), dtype=torch.float32)  # (tasks, models)
            truth_others = torch.tensor(z_all[:, cols].T, dtype=torch.float32)
        for p in net.parameters():
            p.requires_grad_(False)
        theta = nn.Parameter(net.theta.detach().mean(0, keepdim=True).clone())
        prior = nn.Parameter(torch.tensor([float(z_new.mean())]))
        opt = torch.optim.Adam([theta, prior], lr=lr)
        row = np.full((1, len(self.tasks_)), np.nan)
        row[0, cols] = z_new
        target = torch.tensor(z_new, dtype=torch.float32)
        truth = torch.cat([truth_others, target[:, None]], dim=1)
        for _ in range(steps):
            memory = self._memory(toks, itself, z=row, prior=prior)
            mine = net(torch.from_numpy(toks), torch.zeros(1, dtype=torch.long), prior, theta=theta, memory=memory)
            pred = torch.cat([others, mine], dim=1)
            loss = listmle_loss(pred, truth) + self.pointwise_weight * ((mine[:, 0] - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        for p in net.parameters():
            p.requires_grad_(True)
        with torch.no_grad():
            net.theta = nn.Parameter(torch.cat([net.theta.detach(), theta.detach()]))
        self.models_ = [*self.models_, name]
        self.prior_ = np.append(self.prior_, float(prior.detach()))
        new_row = np.full((1, len(self.tasks_)), np.nan)
        new_row[0, cols] = [scores[t] for t in used]
        self.train_scores_ = np.vstack([self.train_scores_, new_row])
        self.added_models_ = [*getattr(self, "added_models_", []), {"model": name, "scores": {t: float(scores[t]) for t in used}}]
        return {"model": name, "tasks_used": used, "ignored_tasks": unknown,
                "fit_rmse_z": float(((mine.detach()[:, 0] - target) ** 2).mean().sqrt())}

    # --- persistence -------------------------------------------------------------------------------
    def config(self) -> dict:
        """Everything besides the tensors needed to rebuild this Spider (JSON-serialisable)."""
        return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "params": self.get_params(),
                "models": list(self.models_), "tasks": list(self.tasks_), "token_dim": self.token_dim_,
                "n_tokens": self.n_tokens_, "encoder": getattr(self, "encoder_", None),
                "fit_log": getattr(self, "fit_log_", None), "trained_on": getattr(self, "trained_on_", None),
                "leaderboard_sha256": getattr(self, "leaderboard_sha256_", None),
                "added_models": getattr(self, "added_models_", []),
                **({"stack_lambda": self.stack_lambda_, "stack_taus": self.stack_taus_} if self.prior in HISTORY_PRIORS else {})}

    def save(self, path: str | Path) -> Path:
        """Write ``spider.safetensors`` + ``spider.json`` into directory ``path`` (atomically)."""
        from safetensors.torch import save_file

        if not hasattr(self, "net_"):
            raise SpiderError("cannot save an unfitted Spider: call fit first")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = self.config()
        text = json.dumps(config, indent=1, sort_keys=True)
        tensors = {f"net.{k}": v.detach().contiguous() for k, v in self.net_.state_dict().items()}
        if getattr(self, "first_net_", None) is not None:
            tensors.update({f"first.{k}": v.detach().contiguous() for k, v in self.first_net_.state_dict().items()})
        tensors.update(prior=torch.tensor(self.prior_), train_scores=torch.tensor(self.train_scores_),
                       centroids=torch.from_numpy(self.centroids_))
        tmp_w, tmp_c = path / (WEIGHTS_FILE + ".tmp"), path / (CONFIG_FILE + ".tmp")
        save_file(tensors, str(tmp_w), metadata={"config_sha256": _digest(text)})
        tmp_c.write_text(text + "\n")
        tmp_w.replace(path / WEIGHTS_FILE)
        tmp_c.replace(path / CONFIG_FILE)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SpiderRanker:
        """Read a checkpoint written by :meth:`save`; refuses one whose parts do not match."""
        from safetensors import safe_open

        path = Path(path)
        cfg_path, w_path = path / CONFIG_FILE, path / WEIGHTS_FILE
        if not cfg_path.is_file() or not w_path.is_file():
            raise SpiderError(f"{path}: not a Spider checkpoint (expected {CONFIG_FILE} and {WEIGHTS_FILE})")
        text = cfg_path.read_text().strip()
        try:
            config = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpiderError(f"{cfg_path}: not valid JSON ({exc})") from None
        if config.get("format") != CHECKPOINT_FORMAT or config.get("version") != CHECKPOINT_VERSION:
            raise SpiderError(f"{cfg_path}: not a version-{CHECKPOINT_VERSION} Spider checkpoint "
                              f"(format={config.get('format')!r}, version={config.get('version')!r})")
        try:
            with safe_open(str(w_path), framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:  # safetensors raises its own error types for corrupt files
            raise SpiderError(f"{w_path}: cannot read ({exc})") from None
        if meta.get("config_sha256") != _digest(text):
            raise SpiderError(f"{path}: {WEIGHTS_FILE} was not written with this {CONFIG_FILE} "
                              "(config hash mismatch); re-create the checkpoint with `llm-spider train`")
        try:
            self = cls(**config["params"])
        except TypeError as exc:  # a hyper-parameter this version does not know
            raise SpiderError(f"{cfg_path}: {exc}; it was written by another version of llm-spider") from None
        self.models_, self.tasks_ = list(config["models"]), list(config["tasks"])
        self.token_dim_, self.n_tokens_ = int(config["token_dim"]), int(config["n_tokens"])
        self.encoder_, self.fit_log_ = config.get("encoder"), config.get("fit_log")
        self.added_models_ = list(config.get("added_models", []))
        self.trained_on_, self.leaderboard_sha256_ = config.get("trained_on"), config.get("leaderboard_sha256")
        if self.prior in HISTORY_PRIORS:
            self.stack_lambda_, self.stack_taus_ = float(config["stack_lambda"]), list(config.get("stack_taus", []))
        self.prior_ = tensors["prior"].numpy().astype(np.float64)
        self.train_scores_ = tensors["train_scores"].numpy().astype(np.float64)
        self.centroids_ = tensors["centroids"].numpy().astype(np.float32)
        n_models, n_tasks = len(self.models_), len(self.tasks_)
        if self.prior_.shape != (n_models,) or self.train_scores_.shape != (n_models, n_tasks) \
                or self.centroids_.shape != (n_tasks, self.token_dim_):
            raise SpiderError(f"{path}: tensor shapes do not match the config's {n_models} models × {n_tasks} tasks")
        self._set_profile()
        self.net_ = self._build_net(n_models)
        state = {k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")}
        first = {k[len("first."):]: v for k, v in tensors.items() if k.startswith("first.")}
        self.first_net_ = self._build_net(n_models) if first else None
        try:
            self.net_.load_state_dict(state, strict=True)
            if first:
                self.first_net_.load_state_dict(first, strict=True)
        except RuntimeError as exc:
            raise SpiderError(f"{path}: weights do not match the config: {str(exc).splitlines()[0]}") from None
        self.net_.eval()
        if first:
            self.first_net_.eval()
        return self


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
