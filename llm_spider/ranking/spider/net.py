"""The Spider's network: θ_m tokens, a task-token encoder and one attention read-out per model.

Each model is a learnable vector θ_m; a task is its set of general tokens projected into the same
space. The model token attends over [θ_m ; task tokens ; its own PTM-specific tokens] and a head
reads off the fitness of the pair. Only the model token's position is read out, so attention is
computed for that query alone (the task tokens are first mixed among themselves by ``task_layers``
encoder layers shared by all models): the same function as a full transformer layer over
[θ_m ; task tokens] read at θ_m, at a fraction of the cost.

Why a zero-initialised head: the scorer is a residual over a prior (the leaderboard mean or the
history's estimate), so an untrained net ranks exactly as its prior does and learns only the
task-dependent part. Why a history memory: with a few dozen historical tasks, mapping prompt
embeddings to model orders overfits; reading the history itself (attention from the task to the
historical tasks, with a null slot that wins when none is close) generalises better.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from llm_spider.errors import SpiderError


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
