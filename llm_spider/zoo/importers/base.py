"""What every importer shares: the ``Imported`` record and careful readers of JSON and numbers."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from llm_spider.errors import SpiderError


SCORE_FIELDS = ("model", "task", "score", "metric", "n", "tool", "file")  # each score's fields, then provenance


@dataclass
class Imported:
    """What one or more files hold. ``scores``: dicts with SCORE_FIELDS (+ provenance); ``items``:
    dicts with model, task, doc, question, options, answer_index, correct, logprobs (or None);
    ``taken``/``skipped``: one line each for the report (skipped lines name file and line)."""

    scores: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def extend(self, other: Imported) -> None:
        self.scores += other.scores
        self.items += other.items
        self.taken += other.taken
        self.skipped += other.skipped


def read_json(path: Path):
    """A JSON file, or one line naming where it breaks (a truncated file is the usual cause)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SpiderError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}; truncated?)") from None
    except UnicodeDecodeError:
        raise SpiderError(f"{path}: not UTF-8 text") from None


def number(value, where: str) -> float:
    """A metric value as a float, or one line saying it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            return float(str(value).strip())
        except ValueError:
            raise SpiderError(f"{where}: metric value {value!r} is not a number") from None
    return float(value)


def jsonl(path: Path) -> Iterator[tuple[str, object]]:
    """(``file:line``, parsed value) for each non-blank line of a JSON-lines file (gzipped when it
    ends in .gz); the first line that is not JSON ends it with one line naming where."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield f"{path}:{n}", json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SpiderError(f"{path}:{n}: not valid JSON ({exc.msg}; truncated?)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpiderError(f"{path}: cannot read ({exc})") from None
