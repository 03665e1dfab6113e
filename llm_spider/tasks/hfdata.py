"""A Hugging Face dataset as a task: ``hf:<path>[:<config>]:<split>``, read with ``datasets`` from its
cache (or a local folder) and checked row by row like a task file (tasks/files.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from llm_spider.errors import SpiderError
from llm_spider.tasks.base import Task

PREFIX = "hf:"


@dataclass(frozen=True)
class Fields:
    """Which columns hold the question, the options (a list, or ARC's ``{"text": [...]}``) and the answer."""

    question: str = "question"
    choices: str = "choices"
    answer: str = "answer"


def parse_spec(spec: str) -> tuple[str, str | None, str]:
    """``hf:path[:config]:split`` → (path, config, split)."""
    parts = spec[len(PREFIX):].split(":")
    if len(parts) == 2 and all(parts):
        return parts[0], None, parts[1]
    if len(parts) == 3 and parts[0] and parts[2]:
        return parts[0], parts[1] or None, parts[2]
    raise SpiderError(f"{spec!r}: write a dataset task as hf:<path>[:<config>]:<split>, e.g. hf:ai2_arc:ARC-Easy:test")


def load_hf_task(spec: str, fields: Fields = Fields()) -> Task:
    from llm_spider.tasks.files import _row_to_item

    path, config, split = parse_spec(spec)
    rows = _load(spec, path, config, split)
    if not rows:
        raise SpiderError(f"{spec}: the split has no rows")
    missing = [f for f in (fields.question,) if f not in rows[0]]
    if missing:
        raise SpiderError(f"{spec}: no column {missing[0]!r} (columns: {', '.join(rows[0])}); name the question's "
                          "with --question-field")
    items = []
    for n, row in enumerate(rows, start=1):
        choices = row.get(fields.choices)
        if isinstance(choices, dict) and "text" in choices:  # ARC, OpenBookQA: {"text": [...], "label": [...]}
            labels = [str(x) for x in choices.get("label", [])]
            choices = choices["text"]
            answer = row.get(fields.answer)
            if isinstance(answer, str) and answer in labels:
                row = {**row, fields.answer: labels.index(answer)}
        items.append(_row_to_item({"question": row.get(fields.question), "choices": choices,
                                   "answer": row.get(fields.answer)}, f"{spec}: row {n}"))
    digest = hashlib.sha256(repr([(i.question, i.choices, i.answer) for i in items]).encode()).hexdigest()[:16]
    return Task(spec, "hf", f"dataset {path}{':' + config if config else ''} ({split}, {len(items)} items)", "mc.jinja",
                lambda: items, {}, category="dataset", topic=path.split("/")[-1].replace("_", " "), version=digest,
                builtin=False)


def _load(spec: str, path: str, config: str | None, split: str) -> list[dict]:
    import datasets

    try:
        data = datasets.load_dataset(path, config, split=split)
    except Exception as exc:  # datasets raises many kinds: offline, no such config, no such split
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "offline" in text.lower() or "connect" in text.lower() or "couldn't reach" in text.lower() \
                or "not found" in text.lower() or "doesn't exist" in text.lower():
            raise SpiderError(f"{spec}: not in the Hugging Face cache and the Hub cannot be reached ({text[:160]}); "
                              f"download it where there is a network (`hf download {path} --repo-type dataset`) "
                              "or give a local folder as the path") from None
        raise SpiderError(f"{spec}: datasets could not read it: {text[:200]}") from None
    return [dict(r) for r in data]
