"""Label-free selection: for a task without answers, a member "is right" on an item when it agrees
with the consensus of a panel of the prior's strongest candidates.

Why a fixed panel, and why leave-self-out: agreement needs at least two other voters on every
item a member is judged on, and the adaptive loop asks about items in one shared order; so the
panel (``PANEL`` members, the prior's top) answers every item any candidate is asked about, and a
panel member is judged against the others only (ties go to the higher-prior voter), so it cannot
agree with itself. What it cannot do: tell a member that is right where the panel is wrong from
one that is wrong; agreement rewards being like the panel. benchmarks measure how much that costs.

Cost: every (member, item) answer obtained, panel or candidate, is one evaluation, counted once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.selection.evaluators import ItemEvaluator

PANEL = 5


def panel(prior: pd.Series | None, candidates: Sequence[str]) -> list[str]:
    """The ``PANEL`` candidates the prior rates highest (the first ones given, without a prior)."""
    if prior is None:
        return list(candidates)[:PANEL]
    return list(prior.reindex(list(candidates)).sort_values(ascending=False, kind="stable").index[:PANEL])


class ConsensusEvaluator(ItemEvaluator):
    """Wraps an evaluator that can give answers; ``panel``: the voters, strongest first."""

    def __init__(self, base: ItemEvaluator, panel: Sequence[str]):
        super().__init__()
        if len(panel) < 2:
            raise SpiderError("label-free selection needs a panel of at least two members")
        self.base, self.panel = base, list(panel)
        self._seen: dict[tuple[str, str], dict] = {}  # (model, task) -> item -> answer

    @property
    def members(self) -> list[str]:
        return self.base.members

    def items(self, task: str) -> np.ndarray:
        return self.base.items(task)

    @property
    def unique_evaluations(self) -> int:
        """Answers obtained (panel and candidates), each (member, item) once: the label-free cost."""
        return sum(len(v) for v in self._seen.values())

    def _chosen(self, model: str, task: str, ids: Sequence) -> list:
        known = self._seen.setdefault((model, task), {})
        todo = [i for i in ids if i not in known]
        if todo:
            known.update(zip(todo, self.base.answers(model, task, todo)))
        return [known[i] for i in ids]

    def _outcomes(self, model: str, task: str, ids: Sequence) -> np.ndarray:
        mine = self._chosen(model, task, ids)
        voters = [p for p in self.panel if p != model]
        votes = [self._chosen(p, task, ids) for p in voters]
        out = np.full(len(ids), np.nan)
        for j, answer in enumerate(mine):
            cast = [v[j] for v in votes if v[j] is not None]
            if not cast:
                continue  # nobody on the panel answered: no evidence either way
            counts = Counter(cast)
            top = max(counts.values())
            consensus = next(c for c in cast if counts[c] == top)  # ties: the higher-prior voter
            out[j] = float(answer is not None and answer == consensus)
        return out
