"""Errors a user can act on. The CLI prints them without a traceback and exits non-zero."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SpiderError(Exception):
    """Base class for errors caused by the user's input, not by a bug."""


class UnknownNameError(SpiderError, KeyError):
    """A task, model or method name that does not exist; carries the closest known names."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name = kind, name
        known = list(known)
        self.suggestions = closest(name, known)
        if self.suggestions:
            hint = f" Did you mean: {', '.join(self.suggestions)}?"
        else:  # nothing close: list a short vocabulary outright, point to the list commands otherwise
            hint = f" Known: {', '.join(known)}." if len(known) <= 12 else ""
        super().__init__(f"unknown {kind} '{name}'.{hint}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class TaskFileError(SpiderError, ValueError):
    """A user's task file that is empty or malformed; the message names the file and line."""


class SpiderWarning(UserWarning):
    """Something the user should know that does not stop the work (e.g. a cache that cannot be
    written: the run goes on without it). The CLI prints it as a note."""


def cannot_write(exc: OSError) -> str:
    """An OS error on a path, as one line a user can act on."""
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def closest(name: str, known: Iterable[str], n: int = 5) -> list[str]:
    """The known names nearest to ``name``: substring matches first, then fuzzy matches."""
    known = list(known)
    lowered = name.lower()
    subs = [k for k in known if lowered and lowered in k.lower()]
    fuzzy = difflib.get_close_matches(name, known, n=n, cutoff=0.5)
    out: list[str] = []
    for k in fuzzy + sorted(subs, key=len):
        if k not in out:
            out.append(k)
    return out[:n]
