"""Transferability estimators: score a pre-trained model for a labelled target task from one pass of
its features (or its source-label predictions) over the target's images, without fine-tuning.

These are the classic baselines Model Spider compares against on image zoos, one per module, each
implemented from its paper in numpy. An estimator takes a member's ``TaskFeatures`` on the target
(``features`` (n, d), ``labels`` (n,), source-class ``probs`` (n, K)) and returns a score, higher =
predicted to transfer better, NaN where it does not apply (NCE and LEEP need a source head).
A new estimator is one module here with ``@register_estimator("name")`` on an ``Estimator``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from llm_spider.registry import Registry

if TYPE_CHECKING:
    from llm_spider.vision.zoo import TaskFeatures


class Estimator(ABC):
    """Scores one member on one target from its features there; stateless, parameters in ``__init__``."""

    name: ClassVar[str]

    @abstractmethod
    def score(self, task: TaskFeatures, reference: TaskFeatures | None = None) -> float:
        """Higher = predicted to transfer better; ``reference``: a labelled source-like task (OTCE)."""


_M = "llm_spider.vision.estimators."
ESTIMATORS: Registry[type[Estimator]] = Registry(
    "estimator",
    builtins={"h-score": _M + "hscore:HScore", "nce": _M + "nce:NCE", "leep": _M + "leep:LEEP",
              "n-leep": _M + "nleep:NLEEP", "logme": _M + "logme:LogME", "pactran": _M + "pactran:PACTran",
              "otce": _M + "otce:OTCE", "lfc": _M + "lfc:LFC", "gbc": _M + "gbc:GBC"},
    discover=("llm_spider.vision.estimators",),
    name_attr="name",
)
register_estimator = ESTIMATORS.register


def labels_index(y) -> tuple[np.ndarray, int]:
    y = np.asarray(y)
    classes, inv = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("a transferability score needs at least two target classes")
    return inv.astype(int), len(classes)


def as_features(features, n: int) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] != n:
        raise ValueError(f"features must be (n_samples={n}, dim), got {f.shape}")
    return f


def as_probs(probs, n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != n:
        raise ValueError(f"probs must be (n_samples={n}, n_source_classes), got {p.shape}")
    if np.any(p < -1e-9) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probs rows must be probability distributions")
    return np.clip(p, 0.0, None)


def soft_joint(probs: np.ndarray, y: np.ndarray, c: int) -> np.ndarray:
    """Empirical joint P(y, z) from soft source predictions: 1/n Σ_i θ(x_i)_z [y_i = y]."""
    joint = np.zeros((c, probs.shape[1]))
    np.add.at(joint, y, probs)
    return joint / len(y)


def pca(f: np.ndarray, variance: float = 0.8) -> np.ndarray:
    f = f - f.mean(axis=0)
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    share = np.cumsum(s**2) / max((s**2).sum(), 1e-300)
    k = int(np.searchsorted(share, variance) + 1)
    return u[:, :k] * s[:k]


def logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)
