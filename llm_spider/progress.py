"""How slow library calls report what they are doing, without knowing who is watching.

The API takes a ``Progress``; the default says nothing (library and benchmark use), the CLI passes
one that draws rich bars on stderr. A bar is opened as a context and advanced or updated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class Bar:
    """One bar: ``advance(n)`` steps done, ``update(completed=, total=, description=)`` to set them outright."""

    def advance(self, n: float = 1) -> None:
        pass

    def update(self, completed: float | None = None, total: float | None = None,
               description: str | None = None) -> None:
        pass


class Progress:
    """Silent by default; subclasses override ``note`` and ``bar``."""

    def note(self, message: str) -> None:
        """A line for the user (what is being done, or worth knowing), not part of the result."""

    @contextmanager
    def bar(self, description: str, total: float | None = None) -> Iterator[Bar]:
        yield Bar()

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate ``items`` with a bar that advances one step per item."""
        items = list(items) if total is None else items
        with self.bar(description, total if total is not None else len(items)) as bar:
            for item in items:
                yield item
                bar.advance()


SILENT = Progress()
