"""Every command's --help reads whole at any terminal width (issue 21, case 8: the help of
`compare`, `evaluate` and `vision rank` wrapped mid-sentence)."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from llm_spider.cli import app

BOX = "│╭╮╰╯─┃━┏┓┗┛"


def command_paths() -> list[list[str]]:
    """Every command and group of the CLI, as the words that reach it."""
    out: list[list[str]] = []

    def walk(cmd, path: list[str]) -> None:
        out.append(path)
        if hasattr(cmd, "commands"):  # a group (Typer ships its own click)
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


PATHS = command_paths()


def render(path: list[str], width: int) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(width), "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.output


def words(text: str) -> set[str]:
    return {w for line in text.splitlines() for w in line.translate({ord(c): " " for c in BOX}).split()}


def test_every_command_is_reached():
    names = {" ".join(p) for p in PATHS}
    assert {"rank", "compare", "evaluate", "vision rank", "zoo add-model", "select", "benchmark select"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "llm-spider")
@pytest.mark.parametrize("width", [80, 120])
def test_help_cuts_no_word_and_no_sentence(path, width):
    wide = words(render(path, 1000))  # at this width nothing wraps: every word is whole
    text = render(path, width)
    cut = sorted(words(text) - wide)
    assert not cut, f"words cut at {width} columns: {cut[:5]}"
    # The description (above the option boxes) wraps greedily: a line ends early only where a
    # paragraph does, or where it is a command to type.
    top = text.split("╭")[0].splitlines()
    lines = [line.rstrip() for line in top if not line.lstrip().startswith("Usage:")]
    for a, b in zip(lines, lines[1:]):
        if a.strip() and b.strip() and not re.match(r"\s*(llm-spider|python|pip) ", a + " " + b):
            room = width - 1 - len(a)
            assert len(b.split()[0]) >= room, f"line ends mid-sentence at {width} columns: {a.strip()!r}"
