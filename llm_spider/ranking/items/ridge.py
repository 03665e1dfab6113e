"""Ridge regression of each member's per-item outcomes on the question vectors, kept as sufficient
statistics so that fits on different sets of tasks are sums and differences, not refits.

Why: the items prior is chosen and calibrated by leaving each history task out in turn (and the
benchmark leaves each target out around that), which is hundreds of fits per zoo. With the sums
x'x, x'y, Σx, Σy and counts of every task kept apart, a fit on "all tasks but these" subtracts
those tasks' sums from the total and solves one d × d system per member group: milliseconds each,
and exact (the same coefficients as a fit on the rows themselves).

A member without a result on some items (NaN) is fitted on its own rows only: its x'x is the task's
minus the Gram matrix of its missing rows, kept for such members alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-3  # every item model clips its probabilities into [EPS, 1 - EPS]


@dataclass
class RidgeStats:
    """Sums over a set of items: ``n`` (m,) items with a result per member, ``sx`` (m, d) the sum of
    their vectors, ``sy`` (m,) of their outcomes, ``G`` (d, d) x'x over every item, ``xy`` (d, m),
    ``holes`` member → x'x of its items without a result (to take out of ``G``)."""

    n: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    G: np.ndarray
    xy: np.ndarray
    holes: dict[int, np.ndarray]

    @classmethod
    def of(cls, X: np.ndarray, Y: np.ndarray) -> RidgeStats:
        X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
        have = ~np.isnan(Y)
        Y0 = np.where(have, Y, 0.0)
        holes = {int(j): X[~have[:, j]].T @ X[~have[:, j]] for j in np.flatnonzero(~have.all(axis=0))}
        return cls(have.sum(axis=0).astype(np.float64), have.T.astype(np.float64) @ X, Y0.sum(axis=0), X.T @ X,
                   X.T @ Y0, holes)

    def _combine(self, other: RidgeStats, sign: float) -> RidgeStats:
        holes = {j: h.copy() for j, h in self.holes.items()}
        for j, h in other.holes.items():
            holes[j] = holes[j] + sign * h if j in holes else sign * h
        return RidgeStats(self.n + sign * other.n, self.sx + sign * other.sx, self.sy + sign * other.sy,
                          self.G + sign * other.G, self.xy + sign * other.xy, holes)

    def __add__(self, other: RidgeStats) -> RidgeStats:
        return self._combine(other, 1.0)

    def __sub__(self, other: RidgeStats) -> RidgeStats:
        return self._combine(other, -1.0)

    def solve(self, alphas: Sequence[float]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per penalty: ``(W, c)`` with a member's predicted probability ``x @ W + c`` (W: d × m),
        each member centred on its own items (intercept unpenalised)."""
        d, m = self.G.shape[0], len(self.n)
        n = np.maximum(self.n, 1.0)
        xbar, ybar = self.sx / n[:, None], self.sy / n
        gapped = [j for j, h in self.holes.items() if np.abs(h).max() > 1e-9 * max(1.0, np.abs(self.G).max())]
        groups = [np.setdiff1d(np.arange(m), gapped)] + [np.array([j]) for j in gapped]
        out = [(np.zeros((d, m)), np.zeros(m)) for _ in alphas]
        for cols in groups:
            if not len(cols):
                continue
            j = int(cols[0])
            G = self.G - self.holes[j] if j in gapped else self.G
            Gc = G - n[j] * np.outer(xbar[j], xbar[j])  # a group's members share their rows, so their mean
            cross = self.xy[:, cols] - np.outer(xbar[j], self.sy[cols])
            for (W, c), alpha in zip(out, alphas):
                W[:, cols] = np.linalg.solve(Gc + alpha * np.eye(d), cross)
                c[cols] = ybar[cols] - xbar[j] @ W[:, cols]
        return out


def total(stats: Iterable[RidgeStats]) -> RidgeStats:
    it = iter(stats)
    out = next(it)
    for s in it:
        out = out + s
    return out


def predict(X: np.ndarray, W: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Per item and member: the predicted probability, clipped into (0, 1)."""
    return np.clip(np.asarray(X, np.float64) @ W + c, EPS, 1 - EPS)
