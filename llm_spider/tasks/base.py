"""What a task is: named items (question, choices, answer) plus the template that renders them.

A task also says which columns of the score history measure it (``components``): a single subject
points at itself, a composite such as ``mmlu_subset`` at its subjects, weighted by question count,
so that its recorded score is the question-weighted mean of theirs.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from llm_spider.paths import prompts_dir

LETTERS = string.ascii_uppercase


@dataclass(frozen=True)
class Item:
    """One question. ``answer`` is an index into ``choices``, the target text (or a tuple of accepted
    texts, for a generated answer), or None if unknown."""

    question: str
    choices: tuple[str, ...] = ()
    answer: int | str | tuple[str, ...] | None = None
    topic: str = ""  # set when a composite task mixes subjects, so each prompt names its own


@dataclass(eq=False)
class Task:
    """A named task whose items are loaded lazily (its data set is read once, on demand)."""

    name: str
    family: str
    description: str
    template: str
    load_items: Callable[[], list[Item]] = field(repr=False)
    components: Mapping[str, float] = field(default_factory=dict)
    category: str = ""
    topic: str = ""
    version: str = "1"
    data: str = ""  # the data layer's table its items come from (see llm_spider.datasets)
    # How a task from elsewhere asks to be scored (tasks/scoring.py): its own mode ("" : by its items),
    # whether each item's question is already the whole prompt (lm-eval renders its own), what joins
    # prompt and option text, and its generation settings (a tasks.scoring.Generation, or None).
    scoring: str = ""
    rendered: bool = False
    target_delimiter: str = " "
    generation: object = None
    builtin: bool = True  # read from the data folder (False: a user's file, an lm-eval task, a dataset)

    @cached_property
    def items(self) -> list[Item]:
        return self.load_items()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def parts(self) -> Mapping[str, float]:
        """The history columns that measure this task: its components, or (a task from elsewhere, whose
        results `evaluate` records under its own name) itself."""
        return self.components or {self.name: 1.0}

    def render(self, item: Item) -> str:
        """The prompt for one item, without its answer (a task from lm-eval comes with its own)."""
        if self.rendered:
            return item.question
        return render_template(self.template, question=item.question, choices=list(item.choices),
                               letters=LETTERS, topic=item.topic or self.topic or self.name)

    @property
    def fingerprint(self) -> str:
        """Identifies the task's content for caches: name, version, template and, for a built-in task,
        the content of its data set (a changed data folder must not reuse vectors of the old one)."""
        source = "" if self.rendered else template_source(self.template)  # rendered prompts: ``version`` digests them
        raw = f"{self.name}|{self.family}|{self.version}|{self.template}|{source}"
        if self.data:
            from llm_spider import datasets

            raw += f"|{datasets.content_sha(self.data)}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False)


@lru_cache(maxsize=None)
def template_source(name: str) -> str:
    path = prompts_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"prompt template {name!r} not found in {prompts_dir()}")
    return path.read_text()


@lru_cache(maxsize=None)
def _compiled(name: str):
    return _ENV.from_string(template_source(name))


def render_template(name: str, **variables) -> str:
    """Render a template from ``prompts/``; the sandbox keeps templates data, never code."""
    return _compiled(name).render(**variables).strip()


def file_fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
