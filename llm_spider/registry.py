"""One registry pattern for every extension point: rankers, backends, transferability estimators.

Why lazy "module:Class" strings beside the decorator (as lm-evaluation-harness does): the built-in
names must be known to `--help` and typo hints without importing torch or vLLM, while a class is
imported only when asked for. Why package discovery: adding a method should be one new file with
``@registry.register("name")`` in a discovered package; the registry imports those packages the
first time it is asked for its names.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from llm_spider.errors import SpiderError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names → objects (usually classes), filled by ``register`` and by lazy ``"module:attr"`` strings.

    ``kind`` names the thing in errors ("method", "backend", "estimator"); ``builtins`` are lazy
    entries in their display order; ``discover`` are packages whose modules register themselves;
    ``name_attr``: an attribute that ``register`` sets on the object to its name.
    Names come out built-ins first, then discovered ones in registration order.
    """

    def __init__(self, kind: str, builtins: dict[str, str] | None = None, discover: Sequence[str] = (),
                 name_attr: str | None = None):
        self.kind, self.name_attr = kind, name_attr
        self._entries: dict[str, T | str] = dict(builtins or {})
        self._discover = tuple(discover)
        self._discovered = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("name")`` on a class (or function) makes it known by ``name``.

        A built-in's lazy string is replaced by the object it points to; another object under a
        taken name is an error (two methods would answer to one name)."""

        def deco(obj: T) -> T:
            old = self._entries.get(name)
            if isinstance(old, str):
                module, _, attr = old.partition(":")
                if (getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)) != (module, attr):
                    raise SpiderError(f"{self.kind} '{name}' is registered to {old}, not {obj!r}")
            elif old is not None and old is not obj:
                raise SpiderError(f"{self.kind} '{name}' is already registered to {old!r}")
            self._entries[name] = obj
            if self.name_attr:  # the class knows its own name (rankers report it in their results)
                setattr(obj, self.name_attr, name)
            return obj

        return deco

    def _discover_all(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        for package in self._discover:
            pkg = importlib.import_module(package)
            for info in pkgutil.iter_modules(pkg.__path__, package + "."):
                importlib.import_module(info.name)

    def names(self) -> list[str]:
        self._discover_all()
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def check(self, name: str) -> str:
        """``name`` if it is registered (nothing imported beyond discovery), else the typo error."""
        if name not in self._entries:
            self._discover_all()
        if name not in self._entries:
            raise UnknownNameError(self.kind, name, self.names())
        return name

    def get(self, name: str) -> T:
        """The object registered as ``name``, imported on first use; a typo raises with close names."""
        if name not in self._entries:
            self._discover_all()
        if name not in self._entries:
            raise UnknownNameError(self.kind, name, self.names())
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            obj = getattr(importlib.import_module(module), attr)
            self._entries[name] = obj
            return obj
        return entry
