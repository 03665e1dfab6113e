"""Model Spider (Zhang et al., NeurIPS 2023) as an estimator: ``fit`` on a history, ``predict`` a task.

Each model of the zoo is a learnable vector θ_m (net.py); a task is the set of its general tokens.
The scorer is trained with the paper's Plackett-Luce listwise loss on historical tasks and on
sampled mixtures of them (train.py), as a residual over a prior read from the history (priors.py),
so it learns which models are strong on which kinds of task rather than one order for all. With
PTM-specific tokens (``extra_dim > 0``) it re-ranks candidates from their own probe runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from llm_spider.errors import SpiderError
from llm_spider.ranking.base import Ranker, TaskView
from llm_spider.ranking.registry import register_ranker
from llm_spider.ranking.similarity import SIMILARITIES, LeaderboardProfile
from llm_spider.ranking.spider import priors
from llm_spider.ranking.spider.net import SpiderNet
from llm_spider.ranking.spider.priors import HISTORY_PRIORS, PRIORS
from llm_spider.zoo.history import History


@register_ranker("spider")
class SpiderRanker(Ranker):
    """The Spider: ``fit(history, tasks, extra_tokens=None, on_epoch=None)``, ``predict(task)``.

    Hyper-parameters: the transformer's ``dim``/``heads``/``task_layers``; training ``epochs`` (an
    upper bound: early stopping on ``val_fraction`` of the training tasks ends it sooner; 0 keeps
    the initialisation), ``lr``, ``weight_decay``, ``dropout``, ``batch_tasks``; ``mixtures``
    sampled per epoch of 2..``mixture_max`` tasks each; ``pointwise_weight`` of the MSE term beside
    the listwise loss; ``prior``, what the residual starts from (priors.py); ``memory``, the
    history read-out and its initial ``null_similarity`` (net.py); ``similarity`` of a history
    prior, ``"encoder"`` or ``"mixed"`` (ranking/similarity.py); ``extra_dim``, the width of
    PTM-specific tokens (0: none); ``first_pass`` of a re-ranking Spider, ``"shared"`` (rank
    without probe tokens with the state chosen for re-ranking) or ``"own"`` (train.py).
    ``residual=False`` (no prior) exists for the paper-faithful ablation, benchmarks/spider_ablation.py.
    """

    needs_task_tokens = True

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
            extra_tokens: Mapping[str, Mapping[str, np.ndarray]] | None = None,
            on_epoch: Callable[[int], None] | None = None) -> SpiderRanker:
        """``extra_tokens[task][model]``: PTM-specific tokens (k × extra_dim) of history tasks, for a
        Spider that re-ranks (``extra_dim > 0``); ``on_epoch(epoch)`` is called as training goes."""
        if extra_tokens and not self.extra_dim:
            raise SpiderError("PTM-specific tokens given, but this Spider has extra_dim=0")
        return super().fit(history, tasks, extra_tokens=extra_tokens or {}, on_epoch=on_epoch)

    def _fit(self, history: History, tasks: dict[str, np.ndarray], extra_tokens=None, on_epoch=None) -> None:
        from llm_spider.ranking.spider.train import SpiderTrainer

        usable = [t for t in history.tasks if t in tasks]
        if not usable:
            raise SpiderError("spider needs token sets for the history's tasks; none of the "
                              f"{len(history.tasks)} history tasks is a known task with prompts")
        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        wide = history.wide()
        self.tasks_ = usable
        self.train_scores_ = wide[usable].to_numpy(dtype=np.float64)  # models × tasks, NaN = unscored
        self.prior_ = priors.mean_prior(wide.mean(axis=1).to_numpy(dtype=np.float64), self.residual)
        self.n_tokens_ = max(len(tasks[t]) for t in usable)
        self.token_dim_ = int(tasks[usable[0]].shape[1])
        tokens = np.stack([priors.fixed_length(np.asarray(tasks[t], np.float32), self.n_tokens_) for t in usable])
        self.centroids_ = priors.centroids(tokens)
        self._set_profile()
        self.stack_lambda_, self.stack_taus_ = None, []
        if self.prior == "stacked":
            self.stack_lambda_, self.stack_taus_ = priors.choose_lambda(self.centroids_, self.train_scores_,
                                                                        self.profile_sims_)
        elif self.prior == "similar":
            self.stack_lambda_ = 1.0
        self.net_ = self.build_net()
        self.first_net_ = None
        self.added_models_ = []
        self.accuracy_ = None  # ranking/accuracy.py: set by whoever has the tokens (api.train_spider)
        # What the caller may record about the training data (`llm-spider train` does).
        self.encoder_ = self.trained_on_ = self.leaderboard_sha256_ = None
        trainer = SpiderTrainer(self, tokens, [(extra_tokens or {}).get(t) for t in usable])
        self.fit_log_ = trainer.fit(rng, on_epoch)

    def _set_profile(self) -> None:
        """With ``similarity="mixed"``: the history tasks' leaderboard profiles (the zoo's own
        models left out of them) and their pairwise similarities."""
        self.profile_ = LeaderboardProfile(self.models_) if self.similarity == "mixed" else None
        self.profile_sims_ = self.profile_.matrix(self.tasks_) if self.profile_ is not None else None

    def build_net(self) -> SpiderNet:
        return SpiderNet(len(self.models_), self.token_dim_, self.dim, self.heads, self.task_layers, self.extra_dim,
                         self.dropout, self.null_similarity, zero_head=self.residual or self.memory)

    # --- scoring (shared by training, prediction and add_model) ---------------------------------
    def prior_rows(self, tokens: np.ndarray, exclude: np.ndarray, profile: np.ndarray | None = None) -> torch.Tensor:
        """The residual's starting point for a batch of tasks: (M,) or, read from the history, (T, M)."""
        if self.prior in HISTORY_PRIORS:
            mean, near = priors.prior_parts(tokens, exclude, self.centroids_, self.train_scores_, profile)
            lam = self.stack_lambda_
            return torch.tensor((1 - lam) * mean + lam * near, dtype=torch.float32)
        return torch.tensor(self.prior_, dtype=torch.float32)

    def memory_rows(self, tokens: np.ndarray, exclude: np.ndarray, z: np.ndarray | None = None,
                    prior: torch.Tensor | None = None) -> tuple | None:
        """The memory read-out's inputs (priors.memory_inputs), or None without a memory."""
        if not self.memory:
            return None
        z = priors.standardise(self.train_scores_)[0] if z is None else z
        return priors.memory_inputs(tokens, exclude, self.centroids_, z, self.prior_, prior)

    def scores(self, tokens: np.ndarray, exclude: np.ndarray, extra=None, extra_mask=None,
               profile: np.ndarray | None = None) -> np.ndarray:
        """(T, M) scores of a batch of tasks; without probe tokens, the first-pass net if it has its own."""
        prior = self.prior_rows(tokens, exclude, profile)
        net = self.first_net_ if extra is None and self.first_net_ is not None else self.net_
        out = net(torch.from_numpy(tokens), torch.arange(len(self.models_)), prior, extra, extra_mask,
                  memory=self.memory_rows(tokens, exclude))
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
        extra, mask = self._extra(task)
        self.net_.eval()
        exclude = np.isin(self.tasks_, list(task.exclude))[None, :]
        profile = self.profile_.similarity(task.name, self.tasks_)[None] if self.profile_ is not None else None
        pred = self.scores(tokens[None], exclude, extra, mask, profile)[0]
        # θ of a model never scored on a task with tokens was never trained: it cannot be ranked.
        known = ~np.isnan(self.train_scores_).all(axis=1)
        return pd.Series(np.where(known, pred, np.nan), index=self.models_, name=task.name)

    def held_out_predictions(self, history: History, tasks: Mapping[str, np.ndarray]) -> dict[str, pd.Series]:
        """Each of the Spider's history tasks predicted with its look-up of the history skipping that
        task (refitting per task would cost a training each). Its model tokens did learn from every
        task, so these errors are smaller than on a new task: benchmarks/rank_accuracy.py measures
        the interval on tasks held out of the training itself."""
        return {t: self.predict(TaskView(t, tasks[t], exclude=(t,))) for t in self.tasks_ if t in tasks}

    def _extra(self, task: TaskView) -> tuple[torch.Tensor | None, torch.Tensor | None]:
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

    # --- a new model, persistence ----------------------------------------------------------------
    def add_model(self, name: str, scores: Mapping[str, float], tasks: Mapping[str, np.ndarray],
                  steps: int = 200, lr: float = 0.05) -> dict:
        """Fit θ for one new model from its scores on a few history tasks, everything else frozen
        (add_model.py). Returns a small report; the model then ranks like any other."""
        from llm_spider.ranking.spider.add_model import add_model

        return add_model(self, name, scores, tasks, steps, lr)

    def config(self) -> dict:
        """Everything besides the tensors needed to rebuild this Spider (JSON-serialisable)."""
        from llm_spider.ranking.spider.io import config

        return config(self)

    def save(self, path: str | Path) -> Path:
        """Write ``spider.safetensors`` + ``spider.json`` into directory ``path`` (atomically)."""
        from llm_spider.ranking.spider.io import save

        return save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> SpiderRanker:
        """Read a checkpoint written by :meth:`save`; refuses one whose parts do not match."""
        from llm_spider.ranking.spider.io import load

        return load(cls, path)
