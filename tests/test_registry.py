"""The one registry pattern behind rankers, backends and estimators."""

from __future__ import annotations

import subprocess
import sys

import pytest

from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.registry import Registry


def test_lazy_entries_resolve_on_first_use_and_typos_name_the_closest():
    reg = Registry("thing", builtins={"ordered": "collections:OrderedDict", "counter": "collections:Counter"})
    assert reg.names() == ["ordered", "counter"] and "counter" in reg
    from collections import Counter

    assert reg.get("counter") is Counter
    with pytest.raises(UnknownNameError, match="Did you mean: counter"):
        reg.get("countr")


def test_decorator_registers_and_refuses_a_taken_name():
    reg = Registry("thing", name_attr="name")

    @reg.register("a")
    class A:
        pass

    assert reg.get("a") is A and A.name == "a"
    with pytest.raises(SpiderError, match="already registered"):
        reg.register("a")(type("B", (), {}))


def test_a_builtin_name_accepts_only_its_own_class():
    reg = Registry("thing", builtins={"a": "collections:Counter"})
    with pytest.raises(SpiderError, match="registered to collections:Counter"):
        reg.register("a")(type("Impostor", (), {}))


def test_listing_backends_imports_no_engine():
    code = ("import sys; from llm_spider.backends import BACKENDS; print(BACKENDS.names(), "
            "'torch' in sys.modules, 'llm_spider.backends.hf' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['transformers', 'vllm', 'openai'] False False"
    from llm_spider.backends import BACKENDS

    with pytest.raises(UnknownNameError):
        BACKENDS.get("onnx")


def test_estimators_are_discovered_in_their_order():
    from llm_spider.vision.estimators import ESTIMATORS

    assert ESTIMATORS.names()[:9] == ["h-score", "nce", "leep", "n-leep", "logme", "pactran", "otce", "lfc", "gbc"]
