"""Evaluation protocols over a score history: which tasks are fitted on, which are ranked.

Each protocol yields folds; a fold fits a ranker on ``train_tasks`` of ``models`` and ranks the
same models for ``target``, whose true scores are hidden from the ranker. Models are restricted to
those complete on every task the protocol uses, so every method ranks the same zoo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from llm_spider.errors import UnknownNameError
from llm_spider.zoo.history import History


@dataclass(frozen=True)
class Fold:
    train_tasks: tuple[str, ...]
    target: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class Protocol:
    name: str
    description: str
    split: Callable[[History], tuple[list[str], list[str], bool]]

    def folds(self, history: History) -> Iterator[Fold]:
        """Leave-one-out over ``targets`` when ``leave_one_out``, else fit on pool, rank each target."""
        pool, targets, leave_one_out = self.split(history)
        models = tuple(history.complete_models(sorted(set(pool) | set(targets))))
        for target in targets:
            train = tuple(t for t in pool if t != target) if leave_one_out else tuple(pool)
            yield Fold(train, target, models)

    def applies_to(self, history: History) -> bool:
        pool, targets, leave_one_out = self.split(history)
        models = history.complete_models(sorted(set(pool) | set(targets)))
        min_train = 2 if leave_one_out else 1
        return len(targets) >= 1 and len(pool) >= min_train and len(models) >= 3


def _family(history: History, prefix: str) -> list[str]:
    return [t for t in history.tasks if t.startswith(prefix)]


PROTOCOLS: dict[str, Protocol] = {
    p.name: p for p in (
        Protocol("loto-mmlu", "leave one MMLU subject out: fit on the other subjects, rank it",
                 lambda h: (_family(h, "mmlu_"), _family(h, "mmlu_"), True)),
        Protocol("loto-bbh", "leave one BIG-Bench-Hard subtask out: fit on the others, rank it",
                 lambda h: (_family(h, "bbh_"), _family(h, "bbh_"), True)),
        Protocol("mmlu-to-bbh", "fit on all MMLU subjects, rank each BIG-Bench-Hard subtask",
                 lambda h: (_family(h, "mmlu_"), _family(h, "bbh_"), False)),
        Protocol("loto-all", "leave one task out over every task of the table (for your own tables)",
                 lambda h: (h.tasks, h.tasks, True)),
    )
}
DEFAULT_PROTOCOLS = ("loto-mmlu", "loto-bbh", "mmlu-to-bbh")


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise UnknownNameError("protocol", name, PROTOCOLS)
    return PROTOCOLS[name]
