"""Text in square brackets reaches the user as written: rich must not read it as markup (issue 21,
case 3: `pip install 'llm-spider[local-large]'` was printed as `pip install 'llm-spider'`)."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.output import Format, RichProgress, emit

BRACKETED = "pip install 'llm-spider[local-large]'"


def test_table_cells_titles_and_headers_keep_their_brackets(capsys):
    emit(pd.DataFrame({"install [how]": [BRACKETED]}), Format.table, title=f"[bold]title[/] {BRACKETED}")
    out = capsys.readouterr().out
    assert BRACKETED in out and "install [how]" in out and "[bold]title[/]" in out


def test_notes_and_bars_on_stderr_keep_their_brackets(capsys):
    progress = RichProgress()
    progress.note(f"note: {BRACKETED}")
    with progress.bar(f"loading [model]", 2) as bar:
        bar.advance(2)
    assert BRACKETED in capsys.readouterr().err


def test_the_local_zoo_table_names_the_extra_to_install():
    result = CliRunner().invoke(app, ["zoo", "list", "--zoo", "local"], env={"COLUMNS": "400"})  # no wrapping
    assert result.exit_code == 0, result.output
    assert "pip install 'llm-spider[local-large]'" in result.output


def test_an_error_with_brackets_is_one_line_as_written(monkeypatch):
    from llm_spider import api
    from llm_spider.errors import SpiderError

    def fail(*args, **kwargs):
        raise SpiderError(f"fewer than two members are installed: {BRACKETED}")

    monkeypatch.setattr(api, "load_recorded", fail)
    result = CliRunner().invoke(app, ["zoo", "recorded"])
    assert result.exit_code == 2
    assert f"error: fewer than two members are installed: {BRACKETED}" in " ".join(result.output.split())


def test_every_help_shows_its_brackets_as_written():
    # `evaluate --help` printed "the  extra" where the source said "the [ray] extra".
    import re

    import typer

    def commands(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from commands(sub, [*path, name])
        else:
            yield path, cmd

    checked = 0
    for path, cmd in commands(typer.main.get_command(app), []):
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        wanted = {m for t in texts for m in re.findall(r"\[[\w.,-]+\]", t.replace("\\[", "["))}
        if not wanted:
            continue
        shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400"}).output
        for token in wanted:
            assert token in shown, f"{' '.join(path)} --help lost {token}"
            checked += 1
    assert checked >= 3  # [vllm], [ray], [local-large] at least
