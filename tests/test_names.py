"""A user's name becomes a file name in one place (paths.file_name): never a path."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_spider.errors import SpiderError
from llm_spider.paths import MAX_NAME, check_store_name, file_name, is_plain_name

HOSTILE = ["..", ".", "../../x", "/etc/passwd", "a/b", "a\\b", "x\x00y", "~", "-rf", ".hidden", "CON", "nul.txt",
           "com1", "a" * 300, "é/è", " ", "\n", "model name"]


@given(st.text(min_size=1, max_size=400))
@settings(max_examples=400, deadline=None)
def test_every_name_is_one_safe_component(name):
    out = file_name(name)
    assert out == file_name(name)  # stable
    assert out not in (".", "..") and not out.startswith(".") and "/" not in out and "\\" not in out
    assert "\x00" not in out and len(out.encode()) <= MAX_NAME and out.isprintable()
    if is_plain_name(name):
        assert out == name  # a plain name keeps its file (stores written before stay readable)
    else:
        assert "~" in out  # never a plain name: the two kinds cannot collide


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
@settings(max_examples=300, deadline=None)
def test_two_names_never_share_a_file(a, b):
    if a != b:
        assert file_name(a) != file_name(b)


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_store_name_is_refused_in_one_line(name):
    with pytest.raises(SpiderError) as exc:
        check_store_name(name, "a recorded zoo")
    assert "\n" not in str(exc.value) and "cannot name a recorded zoo" in str(exc.value)


def test_plain_names_are_their_own_file_names():
    for name in ["mmlu-pro", "gemma3-270m+commonsense", "Qwen2.5-7B", "a=b", "x" * MAX_NAME]:
        assert check_store_name(name, "a zoo") == name == file_name(name)
