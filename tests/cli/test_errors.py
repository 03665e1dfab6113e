"""Every error a user can cause ends as one line on stderr and exit 2, from every command (issue 21:
"every error path in errors.py exits 2 with one line")."""

from __future__ import annotations

import inspect

import pytest
import typer
from typer.testing import CliRunner

from llm_spider import datasets, errors
from llm_spider.cli import app

runner = CliRunner()
LONG = "a message longer than any terminal line, " * 6  # must still be one line: the terminal wraps it


def leaf_commands():
    out = []

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            out.append((path, cmd))

    walk(typer.main.get_command(app), [])
    return out


def error_classes() -> list[type]:
    """errors.py's classes and every subclass of SpiderError the package defines."""
    found = {c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.SpiderError)}
    todo = list(found)
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda c: c.__name__)


def make(cls: type) -> Exception:
    if issubclass(cls, errors.UnknownNameError):
        return cls("task", "mmlu_anatomyy", ["mmlu_anatomy"])
    return cls(f"{cls.__name__}: {LONG}")


def test_the_error_classes_are_all_found():
    names = {c.__name__ for c in error_classes()}
    assert {"SpiderError", "UnknownNameError", "TaskFileError", "DataMissingError"} <= names


@pytest.mark.parametrize("path,cmd", leaf_commands(), ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_every_command_maps_user_errors(path, cmd):
    fn = cmd.callback
    while fn is not None and not getattr(fn, "maps_user_errors", False):
        fn = getattr(fn, "__wrapped__", None)
    assert fn is not None, f"`llm-spider {' '.join(path)}` would print a traceback for a user's mistake"


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_each_error_class_is_one_line_and_exit_2(cls, monkeypatch):
    from llm_spider import api

    def fail(*args, **kwargs):
        raise make(cls)

    monkeypatch.setattr(api, "rank", fail)
    result = runner.invoke(app, ["rank", "--task", "mmlu_anatomy"], env={"COLUMNS": "80"})
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


@pytest.mark.parametrize("args,says", [
    (["rank", "--task", "mmlu_anatomyy"], "Did you mean: mmlu_anatomy"),  # UnknownNameError
    (["rank", "--task", "mmlu_anatomy", "--prompts", "2"], "trained with --prompts 32"),  # SpiderError
    (["rank", "--task-file", "{tmp}/latin1.jsonl"], "not UTF-8"),  # TaskFileError
    (["zoo", "list", "--data-dir", "{tmp}/empty"], "leaderboard"),  # DataMissingError
])
def test_real_paths_of_each_class(args, says, tmp_path):
    (tmp_path / "latin1.jsonl").write_bytes(b'{"question":"caf\xe9","choices":["a","b"],"answer":0}\n')
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, [a.format(tmp=tmp_path) for a in args], env={"COLUMNS": "80"})
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], result.stderr
    datasets.set_data_dir(None)
