"""A user's own task from a local JSONL or CSV file (fields ``question``, ``choices``, ``answer``).

An item without ``choices`` is free-form: its ``answer`` (a string, or a list of accepted strings)
is generated (tasks/scoring.py).

Every row is checked before anything is used, and an error names the file and line, because a
task file is typed by hand and a silent skip would change the ranking without telling anyone.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from llm_spider.errors import TaskFileError
from llm_spider.tasks.base import LETTERS, Item, Task, file_fingerprint

SUFFIXES = {".jsonl": "json", ".json": "json", ".csv": "csv"}


def _parse_choices(value: Any, where: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TaskFileError(f"{where}: 'choices' looks like a JSON list but is not: {exc.msg}") from None
        else:
            value = [c.strip() for c in text.split("|")]
    if not isinstance(value, list) or not all(isinstance(c, (str, int, float)) for c in value):
        raise TaskFileError(f"{where}: 'choices' must be a list of strings (or 'a | b | c' in CSV)")
    choices = tuple(str(c) for c in value)
    if len(choices) < 2:
        raise TaskFileError(f"{where}: 'choices' needs at least two options, got {len(choices)}")
    return choices


def _parse_answer(value: Any, choices: tuple[str, ...], where: str) -> int | str | None:
    """An answer may be an option index, a letter, or the option's text; free-form keeps text."""
    if value is None or value == "":
        return None
    if isinstance(value, list):
        if choices:
            raise TaskFileError(f"{where}: an item has 'choices' or a list of accepted answers, not both (the "
                                "answer of a multiple-choice item is one option: its index, letter or text)")
        accepted = tuple(str(a).strip() for a in value if isinstance(a, (str, int, float)) and str(a).strip())
        if not accepted or len(accepted) != len(value):
            raise TaskFileError(f"{where}: 'answer' must be a non-empty list of non-empty strings (accepted answers)")
        return accepted
    if not choices:
        if isinstance(value, (dict, bool)):
            raise TaskFileError(f"{where}: 'answer' must be a string, a number or a list of accepted strings")
        return str(value).strip()
    if isinstance(value, bool):
        raise TaskFileError(f"{where}: 'answer' must be an index, a letter or one of the choices")
    text = value.strip() if isinstance(value, str) else None
    if text is not None and text in choices:  # an option's own text, even a number ("56" of 54/56/64)
        if text.isdigit() and int(text) < len(choices) and int(text) != choices.index(text):
            raise TaskFileError(f"{where}: 'answer' {value!r} is both the text of choice {choices.index(text)} "
                                f"and the index of choice {int(text)}; give the letter instead")
        return choices.index(text)
    if isinstance(value, (int, float)) and float(value).is_integer():
        idx = int(value)
    elif text is not None and text.isdigit():
        idx = int(text)
    elif isinstance(value, str) and len(value.strip()) == 1 and value.strip().upper() in LETTERS:
        idx = LETTERS.index(value.strip().upper())
    else:
        raise TaskFileError(f"{where}: 'answer' {value!r} is not an index, a letter or one of the choices")
    if not 0 <= idx < len(choices):
        raise TaskFileError(f"{where}: 'answer' {value!r} is out of range for {len(choices)} choices")
    return idx


def _row_to_item(row: Any, where: str) -> Item:
    if not isinstance(row, dict):
        raise TaskFileError(f"{where}: expected an object with a 'question' field")
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise TaskFileError(f"{where}: missing or empty 'question'")
    choices = _parse_choices(row.get("choices"), where)
    return Item(question.strip(), choices, _parse_answer(row.get("answer"), choices, where))


def _read_rows(path: Path, kind: str) -> list[tuple[str, Any]]:
    """(where, parsed row) pairs, where = "path:line" (or "path: item N" in a JSON array); blank
    lines are allowed and skipped."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise TaskFileError(f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None
    if kind == "json":
        stripped = text.lstrip()
        if stripped.startswith("["):  # a JSON array is accepted too
            try:
                return [(f"{path}: item {i + 1}", r) for i, r in enumerate(json.loads(text))]
            except json.JSONDecodeError as exc:
                raise TaskFileError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        rows = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((f"{path}:{lineno}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise TaskFileError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
        return rows
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "question" not in reader.fieldnames:
        raise TaskFileError(f"{path}:1: the CSV header must name a 'question' column "
                            f"(found: {', '.join(reader.fieldnames or []) or 'nothing'})")
    rows = []
    for row in reader:
        if None in row:
            raise TaskFileError(f"{path}:{reader.line_num}: more fields than the header has")
        if any(v.strip() for v in row.values() if v):
            rows.append((f"{path}:{reader.line_num}", row))
    return rows


def load_task_file(path: str | Path, name: str | None = None) -> Task:
    """Read and validate a task file; returns a Task whose items are already loaded.

    The validated rows are also exposed as a ``datasets.Dataset`` (``task.dataset``) so that the
    task plugs into the Hugging Face tooling users already know.
    """
    path = Path(path)
    if path.is_dir():
        raise TaskFileError(f"{path}: is a folder; give a task file in it (.jsonl, .json or .csv)")
    if not path.is_file():
        raise TaskFileError(f"{path}: no such file")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise TaskFileError(f"{path}: unsupported file type {path.suffix!r}; use .jsonl, .json or .csv")
    rows = _read_rows(path, kind)
    if not rows:
        raise TaskFileError(f"{path}: the file has no items")
    items = [_row_to_item(row, where) for where, row in rows]
    template = "mc.jinja" if any(i.choices for i in items) else "bbh.jinja"
    task = Task(name or path.stem, "file", f"user task from {path.name} ({len(items)} items)",
                template, lambda: items, {},
                category="user", topic=path.stem.replace("_", " "), version=file_fingerprint(path), builtin=False)
    task.items  # noqa: B018 - materialise now, the rows are already validated
    return task


def file_notes(task: Task) -> list[str]:
    """What a user should know of how their file was read: a file without options is a free-form
    task (its prompts carry no options), which is easy to get by mistake, e.g. a CSV whose options
    column is named otherwise."""
    notes = _repeat_notes(task)
    bare = sum(not i.choices for i in task.items)
    if bare == len(task.items):
        return notes + [f"'{task.name}' has no 'choices' (column or field), so it is ranked as a free-form task "
                "(prompts without options, like BIG-Bench-Hard's); for a multiple-choice task add 'choices' "
                "('a | b | c' in a CSV cell, a list in JSON)"]
    if bare:
        return notes + [f"{bare} of the {len(task.items)} items of '{task.name}' have no 'choices'; they are "
                        "prompted without options"]
    return notes


FEW_ITEMS = 5  # below this many distinct items a task's representation is a handful of prompts


def _repeat_notes(task: Task) -> list[str]:
    """A file of repeated or very few items: its representation rests on that many prompts, which
    the user should know before trusting a ranking of it."""
    distinct = len({(i.question, tuple(i.choices)) for i in task.items})
    notes = []
    if distinct < len(task.items):
        notes.append(f"{len(task.items) - distinct} of the {len(task.items)} items of '{task.name}' repeat another "
                     "item word for word")
    if distinct < FEW_ITEMS:
        notes.append(f"'{task.name}' has {distinct} distinct item{'s' * (distinct != 1)}: the task is represented by "
                     f"{'that many prompts' if distinct != 1 else 'one prompt'}, so the ranking says little beyond the "
                     "zoo's general order; give it a few dozen items")
    return notes


def to_dataset(task: Task):
    """The task's items as a ``datasets.Dataset`` (question, choices, answer as text)."""
    from datasets import Dataset

    return Dataset.from_list([
        {"question": i.question, "choices": list(i.choices),
         "answer": "" if i.answer is None else " | ".join(i.answer) if isinstance(i.answer, tuple) else str(i.answer)} for i in task.items
    ])
