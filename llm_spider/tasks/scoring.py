"""How a task's items are put to a model and scored: the scoring modes, and the items they make.

Why several modes: a multiple-choice item can be scored by the next-token log-probability of its
option *letter* after a prompt that lists the options (``letter``, one forward pass per item), or
the way lm-evaluation-harness scores it, by the log-likelihood of each option's *text* as a
continuation of the prompt (``continuation``: its ``acc``; ``continuation-norm``: divided by the
option's length in characters, its ``acc_norm``). An item without options is answered by greedy
generation (``generate``), read by an extraction and a metric (tasks/answers.py). A run of one
mode is another measurement than a run of another: run logs are kept per mode (zoo/evaluate.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from llm_spider.errors import SpiderError
from llm_spider.tasks.answers import check_extraction, check_metric, extract, matches
from llm_spider.tasks.base import LETTERS, Task, render_template

MODES = ("letter", "continuation", "continuation-norm", "generate")
OPTION_MODES = MODES[:3]
# BBH inputs carry their options inline as "(A) ..." lines; for letter scoring they are re-rendered.
SCORING_TEMPLATES = {"bbh": "bbh_choice.jinja"}
QA_TEMPLATE = "qa.jinja"  # "Question: ...\nAnswer:", lm-eval's own style: continuation and generation prompts


@dataclass(frozen=True)
class Generation:
    """Greedy generation's settings (``max_new_tokens``, ``stop``: the measurement, kept in the run
    log's settings) and how the text is read (``extract``, ``metric``, ``tolerance``: a readout,
    recomputed from the logged text). ``extract`` None: ``first-line``, or ``letter`` for an item
    with options."""

    max_new_tokens: int = 48
    stop: tuple[str, ...] = ("\n\n",)
    extract: str | None = None
    metric: str = "exact_match"
    tolerance: float = 1e-6

    def __post_init__(self) -> None:
        if self.extract is not None:
            check_extraction(self.extract)
        check_metric(self.metric)
        if self.max_new_tokens < 1:
            raise SpiderError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.tolerance < 0:
            raise SpiderError(f"the numeric tolerance must be at least 0, got {self.tolerance}")

    def settings(self) -> dict:
        return {"max_new_tokens": int(self.max_new_tokens), "stop": list(self.stop)}


@dataclass(frozen=True)
class Scoring:
    """A run's choice: ``mode`` (None: the task's own) and, for generated answers, the ``generation``
    settings said (each one replaces the task's own; the rest stay the task's, else the defaults)."""

    mode: str | None = None
    generation: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in MODES:
            raise SpiderError(f"unknown scoring {self.mode!r}; scoring modes: {', '.join(MODES)}")
        unknown = set(self.generation) - set(Generation.__dataclass_fields__)
        if unknown:
            raise SpiderError(f"unknown generation setting {sorted(unknown)[0]!r}")
        Generation(**self.generation)  # every setting checked now, before any task is read


@dataclass(frozen=True)
class ScoringItem:
    index: int  # position in the task's items
    prompt: str
    options: tuple[str, ...]  # continuations scored after the prompt: " A", " B", ... or " <option text>"
    answer: int  # the gold option's index (-1: a free-form item, judged by ``accepted``)
    mode: str = "letter"
    lengths: tuple[float, ...] = ()  # continuation-norm: each option's length in characters
    accepted: tuple[str, ...] = ()  # generate: the accepted answers
    generation: Generation | None = field(default=None, compare=False)  # generate: always with its extract

    def read(self, text: str) -> str:
        """The answer in a generated ``text``, by this item's extraction: the one readout of a
        generation, used when a record is written, judged and shown."""
        return extract(text or "", self.generation.extract, len(LETTERS))


def chosen_option(logprobs) -> int:
    """The option a model chose: the highest score, ignoring unknown (NaN) ones; -1 when none is
    known (a generated answer naming no option, which counts as wrong)."""
    lp = np.asarray(logprobs, dtype=float)
    return -1 if lp.size == 0 or np.isnan(lp).all() else int(np.nanargmax(lp))


def task_mode(task: Task, scoring: Scoring | None = None) -> str:
    """The mode a run uses: the one asked for, else the task's own (an lm-eval task's output type),
    else ``generate`` for a task without options and ``letter`` otherwise."""
    if scoring is not None and scoring.mode:
        return scoring.mode
    if task.scoring:
        return task.scoring
    return "letter" if any(i.choices for i in task.items) else "generate"


def task_scoring(task: Task, scoring: Scoring | None = None) -> tuple[str, Generation]:
    """The (mode, generation settings) a run of ``scoring`` scores ``task`` with."""
    return task_mode(task, scoring), task_generation(task, scoring)


def task_generation(task: Task, scoring: Scoring | None = None) -> Generation:
    base = task.generation or Generation()
    return replace(base, **scoring.generation) if scoring is not None and scoring.generation else base


def scoring_template(task: Task, mode: str = "letter") -> str:
    """The prompt template a mode renders (an lm-eval task's prompts come rendered: ``lm-eval``)."""
    if task.rendered:
        return "lm-eval"
    if mode == "letter":
        return SCORING_TEMPLATES.get(task.family, task.template)
    return task.template if task.family == "bbh" and mode == "generate" else QA_TEMPLATE


def _question(task: Task, item) -> str:
    return item.question.split("\nOptions:\n", 1)[0] if task.family == "bbh" else item.question


def _letter_prompt(task: Task, item) -> str:
    if task.rendered:
        raise SpiderError(f"task '{task.name}' comes with its own prompts (lm-eval's): score it by continuation "
                          "or continuation-norm, not letter")
    return render_template(scoring_template(task, "letter"), question=_question(task, item), choices=list(item.choices),
                           letters=LETTERS, topic=item.topic or task.topic or task.name)


def _plain_prompt(task: Task, item, mode: str) -> str:
    if task.rendered:
        return item.question
    return render_template(scoring_template(task, mode), question=item.question, choices=[], letters=LETTERS,
                           topic=item.topic or task.topic or task.name)


@lru_cache(maxsize=None)
def scoring_items(task: Task, mode: str = "letter", generation: Generation | None = None) -> tuple[ScoringItem, ...]:
    """The task's items as prompts of ``mode``; items a mode cannot score (no options for an option
    mode, no known answer) are skipped. Cached per task: `compare` draws probes from every history task."""
    out = []
    for i, item in enumerate(task.items):
        mc = bool(item.choices) and isinstance(item.answer, int) and len(item.choices) <= len(LETTERS)
        if mode == "letter" and mc:
            out.append(ScoringItem(i, _letter_prompt(task, item),
                                   tuple(f" {LETTERS[j]}" for j in range(len(item.choices))), item.answer))
        elif mode in ("continuation", "continuation-norm") and mc:
            out.append(ScoringItem(i, _plain_prompt(task, item, mode),
                                   tuple(task.target_delimiter + c for c in item.choices), item.answer, mode,
                                   tuple(float(len(c)) for c in item.choices)))
        elif mode == "generate":
            gen = generation or task_generation(task)
            if mc and not task.rendered:
                how = gen.extract or "letter"
                out.append(ScoringItem(i, _letter_prompt(task, item), (), item.answer, mode, (),
                                       (LETTERS[item.answer],), _with_extract(gen, how)))
            elif not item.choices and item.answer not in (None, "", ()):
                accepted = item.answer if isinstance(item.answer, tuple) else (str(item.answer),)
                out.append(ScoringItem(i, _plain_prompt(task, item, mode), (), -1, mode, (), accepted,
                                       _with_extract(gen, gen.extract or "first-line")))
    if not out:
        what = {"generate": "items with an answer to generate"}.get(mode, "multiple-choice items with known answers")
        raise SpiderError(f"task '{task.name}' has no {what}: it cannot be scored by {mode}"
                          + ("" if mode == "generate" else " (a task without options is scored by generate)"))
    return tuple(out)


def _with_extract(gen: Generation, how: str) -> Generation:
    return gen if gen.extract == how else replace(gen, extract=how)


def item_correct(item: ScoringItem, record: dict) -> bool:
    """Whether a run log's ``record`` of ``item`` is right: the highest-scored option is the gold one,
    or the generated text, read by the item's extraction, matches an accepted answer."""
    if item.mode == "generate":
        gen = item.generation
        return matches(item.read(record.get("text", "")), item.accepted, gen.metric, gen.tolerance)
    return chosen_option(record["logprobs"]) == item.answer


def decision_scores(item: ScoringItem, lls) -> np.ndarray:
    """What a continuation mode chooses by: the summed log-likelihoods, or per character of the option."""
    lls = np.asarray(lls, dtype=np.float64)
    return lls / np.asarray(item.lengths, dtype=np.float64) if item.mode == "continuation-norm" else lls


def prompts_sha(items) -> str:
    """A digest of the prompts and options a run scores: what identifies a task's content when no
    template file does (an lm-eval task's prompts, rendered by lm-eval)."""
    h = hashlib.sha256()
    for it in items:
        h.update(f"{it.index}|{it.prompt}|{'|'.join(it.options)}\n".encode())
    return h.hexdigest()[:16]
