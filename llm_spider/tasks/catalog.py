"""The registry of built-in tasks, over the data sets the data layer reads (``llm_spider.datasets``).

Tasks are data: each family (MMLU, BIG-Bench-Hard, the multiple-choice sets) has one loader and
one prompt template. Items are read only when a task's items are asked for; MMLU's question counts
(which weigh its composites) are read when the registry is first used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property

import pandas as pd

from llm_spider import datasets
from llm_spider.datasets import BBH_TASKS, MC_SETS
from llm_spider.errors import UnknownNameError
from llm_spider.tasks.base import Item, Task

# MMLU's own grouping of its 57 subjects (Hendrycks et al., 2021), used by `tasks list`.
MMLU_CATEGORIES: dict[str, list[str]] = {
    "stem": [
        "abstract_algebra", "anatomy", "astronomy", "college_biology", "college_chemistry",
        "college_computer_science", "college_mathematics", "college_physics", "computer_security",
        "conceptual_physics", "electrical_engineering", "elementary_mathematics",
        "high_school_biology", "high_school_chemistry", "high_school_computer_science",
        "high_school_mathematics", "high_school_physics", "high_school_statistics", "machine_learning",
    ],
    "humanities": [
        "formal_logic", "high_school_european_history", "high_school_us_history",
        "high_school_world_history", "international_law", "jurisprudence", "logical_fallacies",
        "moral_disputes", "moral_scenarios", "philosophy", "prehistory", "professional_law",
        "world_religions",
    ],
    "social_sciences": [
        "econometrics", "high_school_geography", "high_school_government_and_politics",
        "high_school_macroeconomics", "high_school_microeconomics", "high_school_psychology",
        "human_sexuality", "professional_psychology", "public_relations", "security_studies",
        "sociology", "us_foreign_policy",
    ],
    "other": [
        "business_ethics", "clinical_knowledge", "college_medicine", "global_facts", "human_aging",
        "management", "marketing", "medical_genetics", "miscellaneous", "nutrition",
        "professional_accounting", "professional_medicine", "virology",
    ],
}
MMLU_CATEGORY = {s: c for c, subjects in MMLU_CATEGORIES.items() for s in subjects}

# A fixed, small MMLU: ten subjects, at least two from each of MMLU's four categories, chosen to
# span formal, factual and judgement-style questions. Changing it changes `mmlu_subset` results.
MMLU_SUBSET = (
    "college_physics", "high_school_mathematics", "computer_security",  # stem
    "philosophy", "world_religions", "jurisprudence",  # humanities
    "econometrics", "high_school_psychology",  # social sciences
    "clinical_knowledge", "marketing",  # other
)

# BIG-Bench-Hard tasks whose inputs carry no "Options:" block but whose answers are a fixed pair.
BBH_FIXED_CHOICES = {
    "boolean_expressions": ("True", "False"),
    "sports_understanding": ("yes", "no"),
    "web_of_lies": ("Yes", "No"),
}

MC_DESCRIPTIONS = {
    "arc-challenge": "ARC Challenge: grade-school science questions that retrieval baselines miss",
    "arc-easy": "ARC Easy: grade-school science questions",
    "commonsenseqa": "CommonsenseQA: everyday commonsense knowledge",
    "medqa-usmle": "MedQA (USMLE): medical licensing exam questions",
    "openbookqa": "OpenBookQA: elementary science with an open book of facts",
    "piqa": "PIQA: physical commonsense, choose the right way to do something",
    "socialiqa": "SocialIQA: social and emotional commonsense",
    "truthfulqa-mc1": "TruthfulQA MC1: questions that invite common misconceptions",
    "winogrande": "WinoGrande: pronoun resolution, fill in the blank",
}
# Names a history may use for the same measurement (the Open LLM Leaderboard v1 columns).
MC_HISTORY_ALIASES = {"arc-challenge": "ARC", "winogrande": "Winogrande"}


def mc_task_name(dataset: str) -> str:
    return dataset.replace("-", "_")


def mmlu_items(subjects: str | list[str], split: str = "test") -> list[Item]:
    """MMLU questions of one or more subjects from one split (tasks score the test split; other
    splits serve as training data elsewhere)."""
    df = datasets.load("mmlu")
    rows = df[df["subject"].isin([subjects] if isinstance(subjects, str) else subjects) & (df["split"] == split)]
    return [Item(r.question, (r.A, r.B, r.C, r.D), "ABCD".index(r.answer), r.subject.replace("_", " "))
            for r in rows.itertuples()]


_OPTION_LINE = re.compile(r"^\(([A-Z])\)\s?(.*)$")


def parse_bbh_example(task: str, text: str, target: str) -> Item:
    """Split a BBH input into question and options; free-form tasks keep the target text."""
    choices: tuple[str, ...] = ()
    answer: int | str | None = target
    if "\nOptions:\n" in text:
        lines = text.split("\nOptions:\n", 1)[1].splitlines()
        lettered = [_OPTION_LINE.match(l.strip()) for l in lines]
        if lines and all(lettered):
            choices = tuple(m.group(2) for m in lettered)
            letters = [m.group(1) for m in lettered]
            answer = letters.index(target.strip("()")) if target.strip("()") in letters else target
        elif lines and all(l.strip().startswith("- ") for l in lines):
            choices = tuple(l.strip()[2:] for l in lines)
            answer = choices.index(target) if target in choices else target
    elif task in BBH_FIXED_CHOICES:
        choices = BBH_FIXED_CHOICES[task]
        answer = choices.index(target) if target in choices else target
    return Item(text, choices, answer)


def _bbh_items(task: str) -> list[Item]:
    df = datasets.load("bbh")
    rows = df[df["task"] == task]
    return [parse_bbh_example(task, r.input, r.target) for r in rows.itertuples()]


def mc_items(dataset: str, split: str = "test") -> list[Item]:
    df = datasets.load(f"mc/{dataset}")
    rows = df[df["split"] == split]
    return [Item(r.question, tuple(r.options), int(r.answer)) for r in rows.itertuples()]


def _concat(tasks: list[Task]) -> list[Item]:
    return [item for t in tasks for item in t.items]


class TaskRegistry:
    """All built-in tasks by name; ``get`` raises with the closest names on a typo."""

    @cached_property
    def _tasks(self) -> dict[str, Task]:
        tasks: dict[str, Task] = {}
        mmlu = datasets.load("mmlu")
        test_counts = mmlu[mmlu["split"] == "test"].groupby("subject").size()
        for subject, count in test_counts.items():
            name = f"mmlu_{subject}"
            topic = subject.replace("_", " ")
            tasks[name] = Task(
                name, "mmlu", f"MMLU: {topic} ({MMLU_CATEGORY.get(subject, 'other')})", "mmlu.jinja",
                lambda s=subject: mmlu_items(s), {name: float(count)},
                category=MMLU_CATEGORY.get(subject, "other"), topic=topic, data="mmlu")
        subjects = [tasks[f"mmlu_{s}"] for s in test_counts.index]
        subset = [tasks[f"mmlu_{s}"] for s in MMLU_SUBSET]
        for name, parts, desc in (
            ("mmlu", subjects, "MMLU: all 57 subjects, question-weighted"),
            ("mmlu_subset", subset, f"MMLU: {len(subset)} subjects across all four categories, "
                                    f"question-weighted ({', '.join(MMLU_SUBSET)})"),
        ):
            tasks[name] = Task(name, "mmlu", desc, "mmlu.jinja", lambda p=parts: _concat(p),
                               {t.name: w for t in parts for w in t.components.values()},
                               category="composite", topic="various subjects", data="mmlu")
        for task in BBH_TASKS:
            name = f"bbh_{task}"
            tasks[name] = Task(name, "bbh", f"BIG-Bench-Hard: {task.replace('_', ' ')}", "bbh.jinja",
                               lambda t=task: _bbh_items(t), {name: 1.0}, category="reasoning",
                               topic=task.replace("_", " "), data="bbh")
        for dataset in MC_SETS:
            name = mc_task_name(dataset)
            tasks[name] = Task(name, "mc", MC_DESCRIPTIONS[dataset], "mc.jinja", lambda d=dataset: mc_items(d),
                               {name: 1.0}, category="multiple-choice", topic=dataset, data=f"mc/{dataset}")
        return tasks

    @cached_property
    def _extra(self) -> dict[str, Task]:
        return {}

    def add(self, task: Task) -> Task:
        """Make a task from elsewhere (a user's file, an lm-eval task, a dataset) known by name for the
        rest of this process, so every command that looks tasks up by name finds it; never a
        built-in's name, whose stored results are of the built-in task."""
        if task.builtin:
            raise ValueError("built-in tasks are in the registry already")
        self._extra[task.name] = task
        return task

    def names(self) -> list[str]:
        return list(self._tasks)

    def __contains__(self, name: str) -> bool:
        return name in self._extra or name in self._tasks

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    def get(self, name: str) -> Task:
        if name in self._extra:
            return self._extra[name]
        try:
            return self._tasks[name]
        except KeyError:
            raise UnknownNameError("task", name, self._tasks) from None

    @cached_property
    def _sizes(self) -> dict[str, int]:
        mmlu = datasets.load("mmlu")
        counts = {f"mmlu_{s}": n for s, n in mmlu[mmlu["split"] == "test"].groupby("subject").size().items()}
        counts.update({f"bbh_{t}": n for t, n in datasets.load("bbh").groupby("task").size().items()})
        for dataset in MC_SETS:
            mc = datasets.load(f"mc/{dataset}")
            counts[mc_task_name(dataset)] = int((mc["split"] == "test").sum())
        for t in self:
            counts.setdefault(t.name, int(sum(counts[c] for c in t.components)))
        return {k: int(v) for k, v in counts.items()}

    def size(self, name: str) -> int:
        """Number of test items of a task, without loading its items (mixtures weigh tasks by it)."""
        if name not in self._sizes:
            raise UnknownNameError("task", name, self._tasks)
        return self._sizes[name]

    def to_frame(self) -> pd.DataFrame:
        """One row per task: name, family, category, number of items, description."""
        return pd.DataFrame([{"task": t.name, "family": t.family, "category": t.category,
                              "items": self._sizes[t.name], "description": t.description} for t in self])


REGISTRY = TaskRegistry()


def get_task(name: str) -> Task:
    return REGISTRY.get(name)
