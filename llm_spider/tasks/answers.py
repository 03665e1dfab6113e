"""Reading a generated answer: an extraction (what part of the text is the answer) and a metric
(whether it matches an accepted answer).

Why a readout apart from the generation: the generated text is the measurement (kept per item in
the run log); how it is read can change without running a model again, so `evaluate` recomputes
correctness from the logged text with the task's extraction and metric each time.

Normalisation for ``exact_match`` (documented in docs/scoring.md): Unicode NFKC, case-folded,
surrounding whitespace and a final ``.`` removed, inner whitespace collapsed to one space.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from llm_spider.errors import SpiderError

EXTRACTIONS = ("first-line", "last-number", "regex:<pattern>", "letter")
METRICS = ("exact_match", "contains", "numeric")
NUMBER = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?|[-−]?\.\d+")


def check_extraction(name: str) -> str:
    """``name`` if it is an extraction (a regex must compile), else one line naming the known ones."""
    if name.startswith("regex:"):
        _compiled(name[len("regex:"):])
        return name
    if name not in EXTRACTIONS:
        raise SpiderError(f"unknown extraction {name!r}; extractions: {', '.join(EXTRACTIONS)}")
    return name


def check_metric(name: str) -> str:
    if name not in METRICS:
        raise SpiderError(f"unknown metric {name!r}; metrics: {', '.join(METRICS)}")
    return name


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern:
    if not pattern:
        raise SpiderError("extraction 'regex:' needs a pattern, e.g. 'regex:answer is (\\w+)'")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise SpiderError(f"extraction regex {pattern!r} does not compile: {exc}") from None


def extract(text: str, how: str, letters: int = 0) -> str:
    """The answer part of a generated ``text``; "" when there is none. ``letters``: how many option
    letters a generated multiple-choice item has (for ``letter``)."""
    text = text or ""
    if how == "first-line":
        for line in text.splitlines():
            if line.strip():
                return line.strip()
        return ""
    if how == "last-number":
        found = NUMBER.findall(text)
        return _number_text(found[-1]) if found else ""
    if how == "letter":
        allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:letters or 26]
        found = re.search(rf"(?<![A-Za-z])\(?([{allowed}])(?![A-Za-z])", text.strip())
        return found.group(1) if found else ""
    if how.startswith("regex:"):
        found = _compiled(how[len("regex:"):]).search(text)
        if not found:
            return ""
        return (found.group(1) if found.groups() else found.group(0)).strip()
    raise SpiderError(f"unknown extraction {how!r}; extractions: {', '.join(EXTRACTIONS)}")


def _number_text(raw: str) -> str:
    return raw.replace("−", "-").replace(",", "")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = re.sub(r"\s+", " ", text)
    return text[:-1].rstrip() if text.endswith(".") else text


def as_number(text: str) -> float | None:
    """A number written in ``text`` (thousands commas, a unicode minus and a trailing unit allowed)."""
    found = NUMBER.search(unicodedata.normalize("NFKC", text or ""))
    if not found:
        return None
    try:
        value = float(_number_text(found.group(0)))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def matches(answer: str, accepted: Sequence[str], metric: str, tolerance: float = 1e-6) -> bool:
    """Whether an extracted ``answer`` matches one of the ``accepted`` answers; an empty answer never
    does. ``numeric``: the first number in each, within ``tolerance`` (absolute)."""
    if not answer.strip():
        return False
    if metric == "exact_match":
        got = normalise(answer)
        return any(got == normalise(a) for a in accepted)
    if metric == "contains":
        got = normalise(answer)
        return any(normalise(a) and normalise(a) in got for a in accepted)
    if metric == "numeric":
        got = as_number(answer)
        if got is None:
            return False
        for a in accepted:
            want = as_number(a)
            if want is not None and abs(got - want) <= tolerance:
                return True
        return False
    raise SpiderError(f"unknown metric {metric!r}; metrics: {', '.join(METRICS)}")


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first stop sequence (a server or backend may run past it)."""
    cut = len(text)
    for s in stop:
        if s:
            at = text.find(s)
            if 0 <= at < cut:
                cut = at
    return text[:cut]
