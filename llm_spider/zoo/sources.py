"""Training sources for the multi-source zoo's domain specialists, disjoint from every evaluation item.

A specialist is a base LLM fine-tuned (LoRA) on one source. The sources come from the public data
sets (through the data layer), chosen so that no item a specialist trains on is ever scored: MMLU's
*validation* split by category (the live zoo evaluates MMLU test questions), ARC-Easy and ARC-Challenge's dev
split (ARC-Challenge test is evaluated), CommonsenseQA, PIQA, SocialIQA and OpenBookQA's dev split
(OpenBookQA test is evaluated), and MedQA. ``check_disjoint`` verifies it on the question texts,
and ``split_record`` is what the zoo file records about each source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from llm_spider.errors import SpiderError
from llm_spider.tasks.base import Item, Task
from llm_spider.tasks.catalog import MMLU_CATEGORIES, mc_items, mmlu_items

SOURCES: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    # name: (description, ((dataset, split, mmlu category or ""), ...))
    "mmlu-stem": ("MMLU validation questions, STEM subjects", (("mmlu", "val", "stem"),)),
    "mmlu-humanities": ("MMLU validation questions, humanities", (("mmlu", "val", "humanities"),)),
    "mmlu-social": ("MMLU validation questions, social sciences", (("mmlu", "val", "social_sciences"),)),
    "mmlu-other": ("MMLU validation questions, other subjects", (("mmlu", "val", "other"),)),
    "science": ("grade-school science: ARC-Easy (all) and ARC-Challenge dev",
                (("arc-easy", "test", ""), ("arc-easy", "dev", ""), ("arc-challenge", "dev", ""))),
    "commonsense": ("CommonsenseQA, PIQA, SocialIQA and OpenBookQA dev",
                    (("commonsenseqa", "test", ""), ("piqa", "test", ""), ("socialiqa", "dev", ""),
                     ("openbookqa", "dev", ""))),
    "medicine": ("MedQA (USMLE)", (("medqa-usmle", "test", ""), ("medqa-usmle", "dev", ""))),
}


def _items(dataset: str, split: str, category: str) -> list[Item]:
    if dataset != "mmlu":
        return mc_items(dataset, split)
    if category not in MMLU_CATEGORIES:
        raise SpiderError(f"unknown MMLU category {category!r}")
    return mmlu_items(MMLU_CATEGORIES[category], split)


def source_task(name: str, exclude: frozenset[str] = frozenset()) -> Task:
    """A source as a Task (MMLU template for the MMLU sources, the multiple-choice one otherwise), so
    it renders exactly as the evaluated tasks do; questions whose hash is in ``exclude`` are left out
    (MMLU repeats a few test questions in its validation split)."""
    if name not in SOURCES:
        raise SpiderError(f"unknown source {name!r}; sources: {', '.join(SOURCES)}")
    desc, parts = SOURCES[name]
    mmlu = all(d == "mmlu" for d, _, _ in parts)
    return Task(f"source_{name}", "mmlu" if mmlu else "mc", desc, "mmlu.jinja" if mmlu else "mc.jinja",
                lambda: [it for p in parts for it in _items(*p) if question_hash(it.question) not in exclude],
                {}, category="source", topic=name)


def evaluated_hashes(evaluated: Iterable[Task]) -> frozenset[str]:
    """The question hashes of every item that is ever scored (evaluation and probes alike)."""
    return frozenset(question_hash(it.question) for t in evaluated for it in t.items)


def question_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).lower().encode()).hexdigest()[:16]


def check_disjoint(sources: Iterable[str], exclude: frozenset[str]) -> dict[str, int]:
    """Items per source after leaving out evaluated questions; raises if any were still shared."""
    sizes = {}
    for s in sources:
        items = source_task(s, exclude).items
        if any(question_hash(it.question) in exclude for it in items):
            raise SpiderError(f"source {s!r} still shares questions with the evaluated tasks")
        sizes[s] = len(items)
    return sizes


def split_record(name: str, exclude: frozenset[str]) -> dict:
    """What the zoo file records of a source: its parts, items kept and left out, and a hash of the
    kept questions (so a later rebuild can prove it trained on the same split)."""
    everything = source_task(name).items
    items = source_task(name, exclude).items
    digest = hashlib.sha256("\n".join(question_hash(it.question) for it in items).encode()).hexdigest()
    return {"source": name, "parts": [list(p) for p in SOURCES[name][1]], "items": len(items),
            "left_out_as_evaluated": len(everything) - len(items), "questions_sha256": digest}
