"""Item-level models of a zoo: P(member m answers item i), learnt from per-item outcomes and each
item's question vector, so that items (and whole tasks) no member has been run on get predictions.

Why items: a zoo's history of task-level scores gives a prior a few dozen numbers per member to
learn from; its per-item outcomes give thousands (MMLU-Pro: 32 members × 12,032 items). A new task
is then its questions, and a member's predicted accuracy is its mean predicted probability over
them, so the prediction follows what the task asks, item by item, rather than how its prompts read
on average.

Four models, one shape (scikit-learn style: ``fit(X, Y)`` then ``predict_proba(X)``; ``Y`` is items ×
members, 1/0, NaN where a member has no result):

- ``ridge``: per member, a linear probability model on the question vector (closed form). What a
  member is good at is a direction in the encoder's space.
- ``nearest``: a member's outcomes on the ``k`` most similar history items, softmax-weighted by
  cosine (the item-level form of the similar-tasks baseline).
- ``irt``: multidimensional two-parameter item response theory, logit = ability_m + d(x) +
  u_m · V x: the item's difficulty d and discriminations V x are regressed from the question vector
  (so unseen items have them), u_m are learnt member embeddings (EmbedLLM's factorisation, with the
  item side given by the text). Full-batch Adam on the whole matrix.
- ``spider``: the Spider's own network (ranking/spider/net.py) at the item level: each member's
  learnt token θ_m attends over [θ_m ; the item's projected question vector] and the head reads a
  logit, residual to the member's base rate.

``mean:a+b`` averages the probabilities of two models (an ensemble is one more candidate the history
may choose; ranking/items/prior.py).
"""

from __future__ import annotations

import numpy as np

from llm_spider.errors import UnknownNameError
from llm_spider.ranking.items.ridge import EPS, RidgeStats
from llm_spider.ranking.items.ridge import predict as ridge_predict


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


class ItemModel:
    """Base: ``fit(X, Y)``, ``predict_proba(X)`` → (items, members)."""

    name = ""

    def fit(self, X: np.ndarray, Y: np.ndarray) -> ItemModel:
        raise NotImplementedError

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class RidgeItems(ItemModel):
    name = "ridge"

    def __init__(self, alpha: float = 10.0):
        self.alpha = alpha

    def fit(self, X: np.ndarray, Y: np.ndarray) -> RidgeItems:
        self.W_, self.c_ = RidgeStats.of(X, Y).solve([self.alpha])[0]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return ridge_predict(X, self.W_, self.c_)


class NearestItems(ItemModel):
    name = "nearest"

    def __init__(self, k: int = 100, temperature: float = 0.05):
        self.k, self.temperature = k, temperature

    def fit(self, X: np.ndarray, Y: np.ndarray) -> NearestItems:
        self.X_ = np.asarray(X, np.float32) / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        self.Y_ = np.asarray(Y, np.float64)
        self.base_ = np.nanmean(self.Y_, axis=0)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Xn = np.asarray(X, np.float32) / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        k = min(self.k, len(self.X_))
        out = np.empty((len(Xn), self.Y_.shape[1]))
        for start in range(0, len(Xn), 512):  # (512 × history) similarities at a time
            S = Xn[start:start + 512] @ self.X_.T
            top = np.argpartition(-S, k - 1, axis=1)[:, :k]
            w = np.exp((np.take_along_axis(S, top, 1) - 1.0) / self.temperature)[..., None]
            y = self.Y_[top]  # (n, k, m)
            have = ~np.isnan(y)
            num, den = (w * np.nan_to_num(y)).sum(1), (w * have).sum(1)
            out[start:start + 512] = np.where(den > 0, num / np.maximum(den, 1e-12), self.base_)
        return np.clip(out, EPS, 1 - EPS)


class IrtItems(ItemModel):
    name = "irt"

    def __init__(self, rank: int = 8, weight_decay: float = 1e-4, steps: int = 300, lr: float = 0.05,
                 random_state: int = 0):
        self.rank, self.weight_decay, self.steps, self.lr = rank, weight_decay, steps, lr
        self.random_state = random_state

    def fit(self, X: np.ndarray, Y: np.ndarray) -> IrtItems:
        import torch

        gen = torch.Generator().manual_seed(self.random_state)
        Xt = torch.tensor(np.asarray(X), dtype=torch.float32)
        Yt = torch.tensor(np.asarray(Y), dtype=torch.float32)
        mask = ~torch.isnan(Yt)
        target = torch.nan_to_num(Yt)[mask]
        self.xbar_ = Xt.mean(0)
        Z = Xt - self.xbar_
        d, m = Xt.shape[1], Yt.shape[1]
        base = torch.tensor(_logit(np.nanmean(np.asarray(Y, np.float64), axis=0)), dtype=torch.float32)
        b, w = base.clone().requires_grad_(), torch.zeros(d, requires_grad=True)
        V = (0.01 * torch.randn(d, self.rank, generator=gen)).requires_grad_()
        U = (0.01 * torch.randn(m, self.rank, generator=gen)).requires_grad_()
        opt = torch.optim.Adam([b, w, V, U], lr=self.lr)
        for _ in range(self.steps):
            logit = b + (Z @ w)[:, None] + (Z @ V) @ U.T
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logit[mask], target)
            loss = loss + self.weight_decay * ((V ** 2).sum() + (U ** 2).sum() + (w ** 2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.params_ = [p.detach() for p in (b, w, V, U)]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        b, w, V, U = self.params_
        Z = torch.tensor(np.asarray(X), dtype=torch.float32) - self.xbar_
        with torch.no_grad():
            return torch.sigmoid(b + (Z @ w)[:, None] + (Z @ V) @ U.T).double().numpy().clip(EPS, 1 - EPS)


class SpiderItems(ItemModel):
    name = "spider"

    def __init__(self, dim: int = 32, heads: int = 4, epochs: int = 4, batch: int = 256, lr: float = 3e-3,
                 random_state: int = 0):
        self.dim, self.heads, self.epochs, self.batch, self.lr = dim, heads, epochs, batch, lr
        self.random_state = random_state

    def fit(self, X: np.ndarray, Y: np.ndarray) -> SpiderItems:
        import torch

        from llm_spider.ranking.spider.net import SpiderNet

        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        Xt = torch.tensor(np.asarray(X), dtype=torch.float32)
        Yt = torch.tensor(np.asarray(Y), dtype=torch.float32)
        mask, target = ~torch.isnan(Yt), torch.nan_to_num(Yt)
        self.prior_ = torch.tensor(_logit(np.nanmean(np.asarray(Y, np.float64), axis=0)), dtype=torch.float32)
        self.net_ = SpiderNet(Yt.shape[1], Xt.shape[1], dim=self.dim, heads=self.heads, task_layers=0, dropout=0.0)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=1e-2)
        self.models_ = torch.arange(Yt.shape[1])
        for _ in range(self.epochs):
            order = rng.permutation(len(Xt))
            for start in range(0, len(order), self.batch):
                rows = torch.as_tensor(order[start:start + self.batch])
                logit = self.net_(Xt[rows, None, :], self.models_, self.prior_)
                m = mask[rows]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logit[m], target[rows][m])
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.net_.eval()
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            Xt = torch.tensor(np.asarray(X), dtype=torch.float32)[:, None, :]
            return torch.sigmoid(self.net_(Xt, self.models_, self.prior_)).double().numpy().clip(EPS, 1 - EPS)


class MeanItems(ItemModel):
    """The mean probability of several models."""

    def __init__(self, parts: list[ItemModel]):
        self.parts = parts
        self.name = "mean:" + "+".join(p.name for p in parts)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> MeanItems:
        for p in self.parts:
            p.fit(X, Y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.mean([p.predict_proba(X) for p in self.parts], axis=0)


ITEM_MODELS = {"ridge": RidgeItems, "nearest": NearestItems, "irt": IrtItems, "spider": SpiderItems}


def make_item_model(name: str, random_state: int = 0) -> ItemModel:
    """A fresh model by name: one of ``ITEM_MODELS`` or ``mean:a+b``."""
    if name.startswith("mean:"):
        return MeanItems([make_item_model(p, random_state) for p in name[5:].split("+")])
    if name not in ITEM_MODELS:
        raise UnknownNameError("item model", name, [*ITEM_MODELS, "mean:ridge+irt"])
    cls = ITEM_MODELS[name]
    return cls(random_state=random_state) if cls in (IrtItems, SpiderItems) else cls()  # the others draw nothing
